"""The demo cast: one user per role (and a managed account's back office), with a known
password, for the embedded demo; and each one's fund grants."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from apps.core.roles import Role
from apps.positions.models import FundAccess, Portfolio

# Same default as the test suite's DEMO_PASSWORD (conftest.py); override with $DEMO_PASSWORD.
DEFAULT_DEMO_PASSWORD = "correct-horse-battery-staple"
UNCHANGED = "(changed since seeding)"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str
    is_staff: bool = False
    # The funds they may see (codes), or ALL_FUNDS (`positions.FundAccess`).
    funds: tuple[str, ...] = ()


ALL_FUNDS = ("*",)
FLAGSHIP, QUALIFIED, ACCOUNT = "demo-macro", "demo-macro-qi", "demo-pension"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("pm_alice", Role.MANAGER, "Alice", "Manager", funds=ALL_FUNDS),
    DemoUser("cio_bob", Role.APPROVER, "Bob", "CIO", funds=(FLAGSHIP,)),
    DemoUser("bo_carol", Role.BACK_OFFICE, "Carol", "Back office", True, ALL_FUNDS),
    DemoUser("ops_erin", Role.OPS, "Erin", "Ops", is_staff=True, funds=ALL_FUNDS),
    DemoUser("viewer_dan", Role.VIEWER, "Dan", "Viewer", funds=(FLAGSHIP, QUALIFIED)),
    DemoUser("bo_mae", Role.BACK_OFFICE, "Mae", "Account back office", True, (ACCOUNT,)),
)


def demo_password() -> str:
    """The demo password: $DEMO_PASSWORD, or the documented default."""
    return os.environ.get("DEMO_PASSWORD", "").strip() or DEFAULT_DEMO_PASSWORD


@transaction.atomic
def ensure_demo_users(*, reset_passwords: bool = False) -> list[tuple[str, str, str]]:
    """Create the demo users (idempotent); returns (username, role, password) for each.

    A password someone changed after seeding is left alone unless `reset_passwords`; its row
    then shows UNCHANGED instead of a password that would not work.
    """
    password = demo_password()
    logins: list[tuple[str, str, str]] = []
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "is_staff": spec.is_staff,
            },
        )
        if created or reset_passwords:
            user.set_password(password)
            user.save(update_fields=["password"])
            shown = password
        else:
            shown = password if user.check_password(password) else UNCHANGED
        if spec.is_staff and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        # The role groups come from the ops migration; get_or_create covers a flushed database.
        group, _ = Group.objects.get_or_create(name=spec.role)
        user.groups.add(group)
        logins.append((spec.username, str(spec.role), shown))
    return logins


@transaction.atomic
def ensure_demo_grants() -> list[tuple[str, str]]:
    """Give each demo user exactly the fund grants the cast lists (run after the funds exist;
    idempotent: a re-seed puts back what was changed). Returns (username, funds) for each."""
    funds = {p.code: p for p in Portfolio.objects.filter(code__in=(FLAGSHIP, QUALIFIED, ACCOUNT))}
    shown = []
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            continue
        wanted = [funds[code] for code in spec.funds if code in funds]
        grants = FundAccess.objects.filter(user=user)
        if spec.funds == ALL_FUNDS:
            grants.exclude(all_funds=True).delete()
            FundAccess.objects.get_or_create(
                user=user, all_funds=True, defaults={"note": "Demo cast."}
            )
            shown.append((spec.username, "all funds"))
            continue
        grants.exclude(portfolio__in=wanted).delete()  # the "all funds" grant included
        for portfolio in wanted:
            FundAccess.objects.get_or_create(
                user=user, portfolio=portfolio, defaults={"note": "Demo cast."}
            )
        shown.append((spec.username, ", ".join(p.code for p in wanted) or "none"))
    return shown
