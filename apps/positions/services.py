"""State changes of the book: trades, reversals, capital flows, position notes, replay."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.roles import Role, has_role
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import add_business_days, is_business_day
from apps.marketdata.models import FixingIndex, Instrument, InstrumentKind
from apps.marketdata.pricing import PricingError
from apps.marketdata.queries import fixing_on
from apps.marketdata.valuation import RateTerms, pu_at
from apps.positions import ledger
from apps.positions.models import CapitalFlow, Portfolio, Position, Side, Strategy, Trade

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TRADERS = (Role.MANAGER, Role.BACK_OFFICE)

# Settlement lags in business days (brazil-markets.md §7): futures ajuste D+1 is cash in the
# MTM; equities/ETFs D+2; federal bonds D+0; FX spot D+2.
SETTLEMENT_LAG = {
    InstrumentKind.EQUITY: 2,
    InstrumentKind.ETF: 2,
    InstrumentKind.FX_SPOT: 2,
}


@dataclass(frozen=True)
class TradeTicket:
    """What a user (or an executed proposal) asks to trade."""

    portfolio: Portfolio
    strategy: Strategy
    instrument: Instrument
    side: str
    quantity: Decimal
    trade_date: date
    price: Decimal | None = None
    rate: Decimal | None = None
    fees: Decimal = Decimal("0")
    broker: str = ""
    notes: str = ""
    settlement_date: date | None = None

    @classmethod
    def from_cleaned(cls, data: Mapping[str, Any]) -> TradeTicket:
        """A ticket from a form's cleaned data (the page's and the admin's trade forms)."""
        return cls(
            portfolio=data["portfolio"],
            strategy=data["strategy"],
            instrument=data["instrument"],
            side=data["side"],
            quantity=data["quantity"],
            trade_date=data["trade_date"],
            price=data.get("price"),
            rate=data.get("rate"),
            fees=data.get("fees") or Decimal("0"),
            broker=data.get("broker", ""),
            notes=data.get("notes", ""),
            settlement_date=data.get("settlement_date"),
        )


def _require_trader(user: User) -> None:
    if not has_role(user, *TRADERS):
        raise PermissionDenied("Only a manager or back office may record trades.")


def shape_errors(ticket: TradeTicket) -> dict[str, str]:
    """What makes a ticket malformed, whatever the day or the instrument's state: checked
    before anything else (trading's pre-trade check reads only well-formed tickets)."""
    errors: dict[str, str] = {}
    instrument = ticket.instrument
    if ticket.quantity is None or ticket.quantity <= 0:
        errors["quantity"] = "Quantity must be greater than zero; the side gives the direction."
    if ticket.side not in Side.values:
        errors["side"] = f"Side must be BUY or SELL, got {ticket.side!r}."
    if ticket.strategy.portfolio_id != ticket.portfolio.pk:
        errors["strategy"] = f"Strategy {ticket.strategy} is not in {ticket.portfolio}."
    if ticket.trade_date < ticket.portfolio.inception_date:
        errors["trade_date"] = (
            f"{ticket.trade_date:%Y-%m-%d} is before the fund's inception "
            f"({ticket.portfolio.inception_date:%Y-%m-%d})."
        )
    if ticket.fees < 0:
        errors["fees"] = "Fees must be zero or positive."
    if ticket.price is None and ticket.rate is None:
        errors["price"] = "Give a price, or a rate for a rate-quoted instrument."
    elif ticket.price is not None and ticket.price <= 0:
        errors["price"] = "Price must be greater than zero."
    elif ticket.price is None and not instrument.is_rate_quoted:
        errors["price"] = f"{instrument.ticker} is quoted by price, not rate."
    return errors


def _validate(ticket: TradeTicket) -> dict[str, str]:
    """The ledger's own last line: the shape, and a tradable instrument on a past business
    day (trading's pre-trade check refuses these first, with the rule named, and journals it)."""
    errors: dict[str, str] = {}
    instrument = ticket.instrument
    if not instrument.active:
        errors["instrument"] = f"{instrument.ticker} is not active."
    if ticket.trade_date > timezone.localdate():
        errors["trade_date"] = f"{ticket.trade_date:%Y-%m-%d} is in the future."
    elif not is_business_day(ticket.trade_date):
        errors["trade_date"] = f"{ticket.trade_date:%Y-%m-%d} is not an ANBIMA business day."
    if instrument.maturity and ticket.trade_date >= instrument.maturity:
        errors["trade_date"] = (
            f"{instrument.ticker} matured on {instrument.maturity:%Y-%m-%d}; "
            f"it cannot be traded on {ticket.trade_date:%Y-%m-%d}."
        )
    return errors | shape_errors(ticket)


def _price_of(ticket: TradeTicket) -> Decimal:
    if ticket.price is not None:
        return ticket.price
    assert ticket.rate is not None
    instrument, day = ticket.instrument, ticket.trade_date
    assert instrument.maturity is not None
    vna = None
    if instrument.kind in (InstrumentKind.NTNB, InstrumentKind.LFT):
        index = (
            FixingIndex.VNA_NTNB if instrument.kind == InstrumentKind.NTNB else FixingIndex.VNA_LFT
        )
        vna = fixing_on(index, day)
        if vna is None:
            raise ValidationError({"rate": f"No {index.label} for {day:%Y-%m-%d}: give the PU."})
    try:
        pu = pu_at(RateTerms(instrument.kind, instrument.maturity, vna), ticket.rate, day)
    except PricingError as error:
        raise ValidationError({"rate": f"{ticket.rate} cannot be priced: {error}."}) from None
    if pu <= 0:
        raise ValidationError({"rate": f"{ticket.rate} prices {instrument.ticker} at {pu}."})
    return pu


def _fx_of(instrument: Instrument, day: date) -> Decimal:
    if instrument.currency == "BRL":
        return Decimal("1")
    ptax = fixing_on(FixingIndex.PTAX_SELL, day)
    if ptax is None:
        raise ValidationError(
            {"trade_date": f"No PTAX fixing for {day:%Y-%m-%d}: load it before a USD trade."}
        )
    return ptax


@transaction.atomic
def record_trade(
    ticket: TradeTicket,
    *,
    by: User,
    proposal: Any = None,
    pretrade: dict[str, Any] | None = None,
) -> Trade:
    """Record a fill and update its position in the same transaction.

    `proposal` (any object with a `pk`) only names, in the journal entry, the proposal this
    fill executes: the link itself is the proposals app's (`proposals.Execution`). `pretrade`
    is the pre-trade verdict the booking passed (trading's), kept in the same entry."""
    _require_trader(by)
    errors = _validate(ticket)
    if errors:
        raise ValidationError(errors)
    lag = SETTLEMENT_LAG.get(InstrumentKind(ticket.instrument.kind), 0)
    position, _ = Position.objects.select_for_update().get_or_create(
        portfolio=ticket.portfolio, strategy=ticket.strategy, instrument=ticket.instrument
    )
    trade = Trade.objects.create(
        portfolio=ticket.portfolio,
        strategy=ticket.strategy,
        instrument=ticket.instrument,
        position=position,
        side=ticket.side,
        quantity=ticket.quantity,
        price=_price_of(ticket),
        rate=ticket.rate,
        trade_date=ticket.trade_date,
        settlement_date=ticket.settlement_date or add_business_days(ticket.trade_date, lag),
        fx_rate=_fx_of(ticket.instrument, ticket.trade_date),
        fees=ticket.fees,
        broker=ticket.broker,
        notes=ticket.notes,
        created_by=by,
    )
    before = position.quantity
    _reproject(position)
    journal(
        kind=EntryKind.TRADE_RECORDED,
        actor=by,
        portfolio=trade.portfolio,
        position=position,
        trade=trade,
        proposal=proposal,
        on_date=trade.trade_date,
        snapshot=_trade_snapshot(trade) | ({"pretrade": pretrade} if pretrade else {}),
        note=trade.notes,
    )
    _journal_transition(position, before, by=by, trade=trade)
    return trade


def _trade_snapshot(trade: Trade) -> dict[str, Any]:
    return {
        "instrument": trade.instrument.ticker,
        "strategy": trade.strategy.code,
        "side": trade.side,
        "quantity": trade.quantity,
        "price": trade.price,
        "rate": trade.rate,
        "fx_rate": trade.fx_rate,
        "fees": trade.fees,
        "trade_date": trade.trade_date,
        "settlement_date": trade.settlement_date,
        "broker": trade.broker,
    }


def _journal_transition(position: Position, before: Decimal, *, by: User, trade: Trade) -> None:
    """Opening, closing (and a flip, which is both) are events of their own."""
    after = position.quantity
    state = {"quantity_before": before, "quantity_after": after, "avg_cost": position.avg_cost}
    if before != 0 and (after == 0 or (after > 0) != (before > 0)):
        journal(
            kind=EntryKind.POSITION_CLOSED,
            actor=by,
            portfolio=position.portfolio,
            position=position,
            trade=trade,
            on_date=trade.trade_date,
            snapshot={**state, "realized_pnl": position.realized_pnl},
        )
    if after != 0 and (before == 0 or (after > 0) != (before > 0)):
        journal(
            kind=EntryKind.POSITION_OPENED,
            actor=by,
            portfolio=position.portfolio,
            position=position,
            trade=trade,
            on_date=trade.trade_date,
            snapshot=state,
        )


@transaction.atomic
def reverse_trade(
    trade: Trade, *, by: User, reason: str, pretrade: dict[str, Any] | None = None
) -> Trade:
    """Cancel a wrong trade with its exact opposite; both leave the position projection.
    `pretrade` is the verdict reported for it (a reversal is never refused), journaled."""
    _require_trader(by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "A reason is required to reverse a trade."})
    original = Trade.objects.select_for_update().get(pk=trade.pk)
    if original.reverses_id is not None:
        raise ValidationError({"trade": f"Trade #{original.pk} is itself a reversal."})
    if Trade.objects.filter(reverses=original).exists():
        raise ValidationError({"trade": f"Trade #{original.pk} has already been reversed."})
    reversal = Trade.objects.create(
        portfolio=original.portfolio,
        strategy=original.strategy,
        instrument=original.instrument,
        position=original.position,
        side=Side.SELL if original.side == Side.BUY else Side.BUY,
        quantity=original.quantity,
        price=original.price,
        rate=original.rate,
        trade_date=original.trade_date,
        settlement_date=original.settlement_date,
        fx_rate=original.fx_rate,
        fees=original.fees,
        broker=original.broker,
        notes=f"Reversal of #{original.pk}: {reason}",
        reverses=original,
        created_by=by,
    )
    assert original.position is not None
    before = original.position.quantity
    _reproject(original.position)
    journal(
        kind=EntryKind.TRADE_REVERSED,
        actor=by,
        portfolio=original.portfolio,
        position=original.position,
        trade=reversal,
        on_date=original.trade_date,
        snapshot={"reverses": original.pk, **_trade_snapshot(reversal)}
        | ({"pretrade": pretrade} if pretrade else {}),
        note=reason,
    )
    _journal_transition(original.position, before, by=by, trade=reversal)
    return reversal


def _fill(trade: Trade, multiplier: Decimal) -> ledger.Fill:
    return ledger.Fill(
        signed_quantity=trade.signed_quantity,
        price=trade.price,
        day=trade.trade_date,
        multiplier=multiplier,
        fx=trade.fx_rate,
    )


def _fills_of(position: Position) -> list[ledger.Fill]:
    multiplier = position.instrument.multiplier
    rows = Trade.objects.effective().filter(position=position).order_by("trade_date", "pk")
    return [_fill(t, multiplier) for t in rows]


def _reproject(position: Position) -> Position:
    """Rebuild one position from its effective trades (date order), so backdated trades and
    reversals give the same result as a full replay."""
    state = ledger.replay_fills(_fills_of(position))
    position.quantity = state.quantity
    position.avg_cost = state.avg_cost
    position.realized_pnl = state.realized
    position.opened_date = state.opened
    position.closed_date = state.closed
    position.save(
        update_fields=[
            "quantity",
            "avg_cost",
            "realized_pnl",
            "opened_date",
            "closed_date",
            "updated_at",
        ]
    )
    return position


@dataclass(frozen=True)
class ReplayDifference:
    position: str
    field: str
    stored: Any
    replayed: Any


def replay(portfolio: Portfolio) -> list[ReplayDifference]:
    """Rebuild every position of `portfolio` from its trades; list where stored ones differ."""
    differences: list[ReplayDifference] = []
    positions = Position.objects.filter(portfolio=portfolio).select_related(
        "instrument", "strategy"
    )
    trades = (
        Trade.objects.effective()
        .filter(position__portfolio=portfolio)
        .only("position_id", "side", "quantity", "price", "trade_date", "fx_rate")
        .order_by("trade_date", "pk")
    )
    by_position: dict[int | None, list[Trade]] = defaultdict(list)
    for trade in trades:  # one query for the whole fund
        by_position[trade.position_id].append(trade)
    for position in positions:
        multiplier = position.instrument.multiplier
        fills = [_fill(t, multiplier) for t in by_position[position.pk]]
        state = ledger.replay_fills(fills)
        for name, replayed in (
            ("quantity", state.quantity),
            ("avg_cost", state.avg_cost),
            ("realized_pnl", state.realized),
            ("opened_date", state.opened),
            ("closed_date", state.closed),
        ):
            stored = getattr(position, name)
            if stored != replayed:
                differences.append(ReplayDifference(str(position), name, stored, replayed))
    return differences


@transaction.atomic
def record_flow(
    portfolio: Portfolio, *, day: date, kind: str, amount: Decimal, by: User, note: str = ""
) -> CapitalFlow:
    """A subscription or redemption of the fund."""
    if not has_role(by, Role.BACK_OFFICE, Role.MANAGER):
        raise PermissionDenied("Only back office or a manager may record capital flows.")
    if amount <= 0:
        raise ValidationError({"amount": "Amount must be positive; the kind gives the direction."})
    if not is_business_day(day):
        raise ValidationError({"date": f"{day:%Y-%m-%d} is not an ANBIMA business day."})
    if day < portfolio.inception_date:
        raise ValidationError({"date": "A flow cannot precede the fund's inception."})
    flow = CapitalFlow.objects.create(
        portfolio=portfolio, date=day, kind=kind, amount=amount, note=note, created_by=by
    )
    journal(
        kind=EntryKind.FLOW_RECORDED,
        actor=by,
        portfolio=portfolio,
        on_date=day,
        snapshot={"kind": kind, "amount": amount},
        note=note,
    )
    return flow


@transaction.atomic
def update_position_plan(
    position: Position,
    *,
    by: User,
    thesis: str,
    stop: Decimal | None,
    target: Decimal | None,
) -> Position:
    """The manager's thesis, stop and target for a position."""
    if not has_role(by, Role.MANAGER):
        raise PermissionDenied("Only a manager may edit a position's thesis, stop and target.")
    position.thesis, position.stop, position.target = thesis.strip(), stop, target
    position.save(update_fields=["thesis", "stop", "target", "updated_at"])
    journal(
        kind=EntryKind.POSITION_PLAN,
        actor=by,
        portfolio=position.portfolio,
        position=position,
        snapshot={"thesis": position.thesis, "stop": stop, "target": target},
    )
    return position
