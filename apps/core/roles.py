"""The five roles of the PMS, as Django groups, and the model permissions each one holds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import models


class Role(models.TextChoices):
    MANAGER = "manager", "Portfolio manager"
    APPROVER = "approver", "Approver (CIO / risk)"
    BACK_OFFICE = "back_office", "Back office"
    OPS = "ops", "Operations"
    VIEWER = "viewer", "Viewer (read-only)"


# Model permissions per role, as "app_label.codename". Views and services check roles; these
# permissions drive what the Django admin (the back office) lets each group do.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.BACK_OFFICE: (
        "marketdata.add_instrument",
        "marketdata.change_instrument",
        "marketdata.view_instrument",
        "marketdata.add_settlementprice",
        "marketdata.view_settlementprice",
        "marketdata.view_pricerevision",
        "marketdata.add_fixing",
        "marketdata.view_fixing",
        "positions.view_portfolio",
        "positions.change_portfolio",
        "positions.add_portfolio",
        "positions.view_strategy",
        "positions.add_strategy",
        "positions.change_strategy",
        "positions.view_trade",
        "positions.add_trade",
        "positions.view_capitalflow",
        "positions.add_capitalflow",
        "positions.view_position",
        "positions.view_dailymark",
        "positions.view_navrecord",
        "positions.view_fundaccess",
        "positions.add_fundaccess",
        "positions.change_fundaccess",
        "positions.delete_fundaccess",
        "proposals.view_proposal",
        "proposals.view_signalrule",
        "proposals.change_signalrule",
        "journal.view_entry",
        "risk.view_limit",
        "risk.add_limit",
        "risk.change_limit",
        "risk.view_stressscenario",
        "risk.add_stressscenario",
        "risk.change_stressscenario",
        "risk.view_alert",
        "risk.view_risksnapshot",
        "briefings.view_morningpack",
        "briefings.view_calendarevent",
        "briefings.add_calendarevent",
        "briefings.change_calendarevent",
    ),
    Role.OPS: (
        "marketdata.view_instrument",
        "marketdata.view_settlementprice",
        "marketdata.view_fixing",
        "positions.view_portfolio",
        "positions.view_trade",
        "positions.view_position",
        "positions.view_dailymark",
        "positions.view_navrecord",
        "proposals.view_proposal",
        "journal.view_entry",
        "risk.view_limit",
        "risk.view_alert",
        "risk.view_risksnapshot",
        "briefings.view_morningpack",
        "ops.view_pipelinerun",
        "ops.view_steprun",
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "tokens.view_apitoken",
        "tokens.add_apitoken",
        "tokens.change_apitoken",  # the revoke action
    ),
}

UserLike = AbstractBaseUser | AnonymousUser


def has_role(user: Any, *roles: str) -> bool:
    """True when the user is active and in any of `roles` (superusers hold every role)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    names = role_names(user)
    return any(role in names for role in roles)


def role_names(user: Any) -> frozenset[str]:
    """The user's role names (their groups): asked several times a request, kept on the user
    object and in their session (`core.user_facts`)."""
    from apps.core.user_facts import fact

    return frozenset(fact(user, "roles"))


def load_role_names(user: Any) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def sync_role_permissions(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups and grant their admin permissions (idempotent, after migrate)."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS.get(role, ())
        perms = []
        for dotted in wanted:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)
