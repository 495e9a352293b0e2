"""Changing a fund's fat-finger rules: back office, with a reason, journaled old → new."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.risk.services import save_setting
from apps.trading.models import FatFingerRule

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RULE_FIELDS = ("instrument_kind", "rule", "warn_level", "block_level", "active")


def save_rule(
    rule: FatFingerRule, *, by: User, reason: str, old: dict[str, Any] | None
) -> FatFingerRule:
    """Create or change a fat-finger rule; the reason is mandatory and journaled."""
    saved: FatFingerRule = save_setting(
        rule,
        by=by,
        reason=reason,
        old=old,
        fields=RULE_FIELDS,
        settings="the pre-trade rules",
        noun="rule",
    )
    return saved
