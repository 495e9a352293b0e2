"""Granting and revoking fund access (back office, with a reason, journaled old → new).

Nobody widens their own reach through a grant: a user who does not see every fund grants and
revokes only the funds they see, and never "all funds"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core.roles import Role, has_role
from apps.journal.models import EntryKind
from apps.journal.services import record
from apps.positions.access import ALL, fund_ids, may_see
from apps.positions.models import FundAccess

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def grant_values(grant: FundAccess) -> dict[str, Any]:
    """A grant as the journal keeps it: who, which fund (or all), the note."""
    user, group, portfolio = grant.user, grant.group, grant.portfolio
    return {
        "user": user.get_username() if user is not None else None,
        "group": group.name if group is not None else None,
        "portfolio": portfolio.code if portfolio is not None else None,
        "all_funds": grant.all_funds,
        "note": grant.note,
    }


def _check(grant: FundAccess, *, by: User, reason: str) -> None:
    if not has_role(by, Role.BACK_OFFICE):
        raise PermissionDenied("Only back office may grant or revoke fund access.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why: a change of fund access needs a reason."})
    if fund_ids(by) != ALL and (grant.all_funds or not may_see(by, grant.portfolio_id)):
        raise PermissionDenied("You may grant or revoke only the funds you see yourself.")


def _journal(
    grant: FundAccess, *, old: dict[str, Any] | None, new: dict[str, Any] | None, by: User, why: str
) -> None:
    changed = [k for k in (new or old or {}) if (old or {}).get(k) != (new or {}).get(k)]
    record(
        kind=EntryKind.ACCESS_CHANGED,
        actor=by,
        portfolio=grant.portfolio if grant.portfolio_id else None,
        snapshot={
            "model": FundAccess._meta.label,
            "id": grant.pk,
            "label": str(grant),
            "old": old,
            "new": new,
            "changed": changed,
        },
        note=why.strip(),
    )


@transaction.atomic
def save_grant(
    grant: FundAccess, *, by: User, reason: str, old: dict[str, Any] | None
) -> FundAccess:
    """Create or change a grant; `old` is its values before the edit (None for a new one)."""
    _check(grant, by=by, reason=reason)
    if old is not None and old.get("all_funds") and fund_ids(by) != ALL:
        raise PermissionDenied("You may grant or revoke only the funds you see yourself.")
    grant.full_clean()
    grant.save()
    _journal(grant, old=old, new=grant_values(grant), by=by, why=reason)
    return grant


@transaction.atomic
def revoke_grant(grant: FundAccess, *, by: User, reason: str) -> None:
    """Delete a grant; the journal keeps what it was, who revoked it and why."""
    _check(grant, by=by, reason=reason)
    old, pk = grant_values(grant), grant.pk
    grant.delete()
    grant.pk = pk  # the journal names the grant that was
    _journal(grant, old=old, new=None, by=by, why=reason)
