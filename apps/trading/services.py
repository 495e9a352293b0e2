"""Booking trades: the one way in for the trade page, the API, the admin and proposals.

Pre-trade checks (and, later, compliance) plug in here, above risk; the ledger itself (the
trade row, its position, the journal entry) is `positions.services.record_trade`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.positions import corrections
from apps.positions import services as ledger
from apps.positions.models import Trade
from apps.positions.services import TRADERS, TradeTicket

__all__ = ["TRADERS", "book_trade", "reverse_trade"]


@transaction.atomic
def book_trade(
    ticket: TradeTicket, *, by: User, proposal: Any = None, remark: bool = True
) -> Trade:
    """Book a fill; with `remark` (every path but the admin's form) a backdated one re-marks
    the book from its date, all or nothing. `proposal` is named in the journal entry."""
    if remark:
        return corrections.record_and_remark(ticket, by=by, proposal=proposal)
    return ledger.record_trade(ticket, by=by, proposal=proposal)


@transaction.atomic
def reverse_trade(trade: Trade, *, by: User, reason: str, remark: bool = True) -> Trade:
    """Book the opposite of `trade` (reason required); with `remark` re-mark from its date."""
    if remark:
        return corrections.reverse_and_remark(trade, by=by, reason=reason)
    return ledger.reverse_trade(trade, by=by, reason=reason)
