"""Booking trades: the one way in for the trade page, the API, the admin and proposals.

Every booking is checked first (`pretrade.check`: fat-finger rules, limits and what-if) and
either refused, journaled with its verdict, or recorded with the verdict in its journal
entry; the ledger itself (the trade row, its position, the journal entry) is
`positions.services.record_trade`. A reversal is checked and reported, never refused."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core.roles import Role, has_role
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.positions import corrections
from apps.positions import services as ledger
from apps.positions.models import Side, Trade
from apps.positions.services import TRADERS, TradeTicket
from apps.trading import pretrade
from apps.trading.pretrade import Override, Verdict

__all__ = [
    "TRADERS",
    "Booked",
    "Override",
    "book_trade",
    "dry_run",
    "reverse_trade",
    "try_basket",
]


@dataclass(frozen=True)
class Booked:
    """A trade (or reversal) recorded, with the pre-trade verdict it was booked on."""

    trade: Trade
    verdict: Verdict


def require_trader(user: User) -> None:
    if not has_role(user, *TRADERS):
        raise PermissionDenied("Only a manager or back office may record trades.")


def well_formed(ticket: TradeTicket) -> None:
    """A malformed ticket (no quantity, a strategy of another fund…) is an input error, not a
    refusal: said before any rule runs, and not journaled."""
    errors = ledger.shape_errors(ticket)
    if errors:
        # Say every problem at once: the date and tradability rules need no data.
        for result in pretrade.static_rules(ticket):
            if result.status == pretrade.BLOCK and result.field:
                errors.setdefault(result.field, result.message)
        raise ValidationError(errors)


def dry_run(ticket: TradeTicket, *, by: User) -> Verdict:
    """The verdict a booking of `ticket` would get now; writes (and journals) nothing."""
    require_trader(by)
    well_formed(ticket)
    return pretrade.check([ticket])


def try_basket(tickets: list[TradeTicket], *, by: User) -> Verdict:
    """The sandbox: every rule and one what-if for a basket of one fund's tickets, as if all
    were booked now; a line without price or rate is priced at its last settlement. Writes
    (and journals) nothing."""
    if not has_role(by, *TRADERS, Role.APPROVER):
        raise PermissionDenied("Only a manager, an approver or back office may try trades.")
    priced = []
    for n, ticket in enumerate(tickets, start=1):
        if ticket.price is None and ticket.rate is None:
            last = pretrade.last_settlement(ticket.instrument, ticket.trade_date)
            if last is None:
                raise ValidationError(
                    f"Line {n}: no settlement of {ticket.instrument.ticker} on or before "
                    f"{ticket.trade_date:%Y-%m-%d}: give a price."
                )
            ticket = replace(ticket, price=last.price)
        errors = ledger.shape_errors(ticket)
        if errors:
            raise ValidationError([f"Line {n}: {message}" for message in errors.values()])
        priced.append(ticket)
    return pretrade.check(priced)


def book_trade(
    ticket: TradeTicket,
    *,
    by: User,
    proposal: Any = None,
    remark: bool = True,
    confirm_warnings: bool = False,
    override: Override | None = None,
) -> Booked:
    """Check, then book a fill; with `remark` (every path but the admin's form) a backdated
    one re-marks the book from its date, all or nothing. `proposal` is named in the journal.

    Not atomic as a whole, on purpose: a refusal's journal entry is written before the
    booking's transaction and must survive the refusal, so a caller inside a transaction
    catches `TradeRefused`, lets its transaction commit, and raises it after."""
    require_trader(by)
    well_formed(ticket)
    verdict = pretrade.check([ticket])
    pretrade.enforce(
        verdict,
        ticket,
        by=by,
        confirm_warnings=confirm_warnings,
        override=override,
        proposal=proposal,
    )
    kept = verdict.journal()
    with transaction.atomic():
        if remark:
            trade = corrections.record_and_remark(ticket, by=by, proposal=proposal, pretrade=kept)
        else:
            trade = ledger.record_trade(ticket, by=by, proposal=proposal, pretrade=kept)
        if override is not None and verdict.limit_blocks:
            journal(
                kind=EntryKind.LIMIT_OVERRIDE,
                actor=override.by,
                portfolio=trade.portfolio,
                trade=trade,
                proposal=proposal,
                on_date=trade.trade_date,
                snapshot={
                    "source": override.source,
                    "booked_by": by.get_username(),
                    "hard_breaches": (verdict.what_if or {}).get("hard_breaches", []),
                },
                note=override.note.strip(),
            )
    return Booked(trade, verdict)


def reverse_trade(trade: Trade, *, by: User, reason: str, remark: bool = True) -> Booked:
    """Book the opposite of `trade` (reason required); with `remark` re-mark from its date.
    The opposite ticket is checked and its verdict journaled, but a wrong trade must always
    be correctable: nothing here refuses it."""
    require_trader(by)
    verdict = pretrade.check([_opposite(trade)], reversal=True)
    kept = verdict.journal()
    with transaction.atomic():
        if remark:
            reversal = corrections.reverse_and_remark(trade, by=by, reason=reason, pretrade=kept)
        else:
            reversal = ledger.reverse_trade(trade, by=by, reason=reason, pretrade=kept)
    return Booked(reversal, verdict)


def _opposite(trade: Trade) -> TradeTicket:
    return TradeTicket(
        portfolio=trade.portfolio,
        strategy=trade.strategy,
        instrument=trade.instrument,
        side=Side.SELL if trade.side == Side.BUY else Side.BUY,
        quantity=trade.quantity,
        trade_date=trade.trade_date,
        price=trade.price,
        rate=trade.rate,
    )
