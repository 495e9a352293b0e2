"""Book changes that must leave the marks true: a trade or a reversal plus the re-mark."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.positions.models import Trade
from apps.positions.mtm import recompute_from
from apps.positions.services import TradeTicket, record_trade, reverse_trade

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def record_and_remark(
    ticket: TradeTicket,
    *,
    by: User,
    proposal: Any = None,
    pretrade: dict[str, Any] | None = None,
) -> Trade:
    """Record a trade and re-mark every marked day from its date on; all or nothing."""
    trade = record_trade(ticket, by=by, proposal=proposal, pretrade=pretrade)
    recompute_from(ticket.portfolio, trade.trade_date, by=by)
    return trade


@transaction.atomic
def reverse_and_remark(
    trade: Trade, *, by: User, reason: str, pretrade: dict[str, Any] | None = None
) -> Trade:
    """Reverse a trade and re-mark every marked day from its date on; all or nothing."""
    reversal = reverse_trade(trade, by=by, reason=reason, pretrade=pretrade)
    recompute_from(trade.portfolio, trade.trade_date, by=by)
    return reversal
