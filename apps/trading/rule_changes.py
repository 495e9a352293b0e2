"""Changing a fund's fat-finger rules: back office, with a reason, journaled old → new."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core.roles import Role, has_role
from apps.risk.services import journal_setting_change
from apps.trading.models import FatFingerRule

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RULE_FIELDS = ("instrument_kind", "rule", "warn_level", "block_level", "active")


@transaction.atomic
def save_rule(
    rule: FatFingerRule, *, by: User, reason: str, old: dict[str, Any] | None
) -> FatFingerRule:
    """Create or change a fat-finger rule; the reason is mandatory and journaled."""
    if not has_role(by, Role.BACK_OFFICE):
        raise PermissionDenied("Only back office may change the pre-trade rules.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why: a rule change needs a reason."})
    rule.full_clean()
    rule.save()
    journal_setting_change(rule, old=old, by=by, reason=reason, fields=RULE_FIELDS)
    return rule
