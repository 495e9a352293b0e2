"""The MTM service: marks every position of a portfolio for a business date, then its NAV.

All reads are bulk (positions, yesterday's marks, today's trades, prices, fixings: one query
each); the maths is `positions.calculations`; the writes replace the date's marks and NAV in
one transaction, so a re-run is idempotent and a failure writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.core.bulk import insert_rows
from apps.core.cache import bump, without_refresh
from apps.core.staleness import basis_now
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata import pricing
from apps.marketdata.calendar import (
    business_days_between,
    is_business_day,
    next_business_day,
    previous_business_day,
)
from apps.marketdata.models import Fixing, FixingIndex, Instrument, InstrumentKind
from apps.marketdata.queries import effective_prices, ipca_pro_rata_on
from apps.marketdata.valuation import RateTerms, coupon_per_unit, dv01_at
from apps.positions import calculations as calc
from apps.positions.models import CapitalFlow, DailyMark, NavRecord, Portfolio, Position, Trade

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ONE = Decimal("1")
ZERO = Decimal("0")
DAP_POINT = Decimal("0.00025")  # R$ per point per IPCA index point (B3 DAP specification)


class MtmError(ValidationError):
    """MTM cannot run for this portfolio and date; nothing was written."""


@dataclass(frozen=True)
class MtmResult:
    portfolio: Portfolio
    day: date
    marks: int
    nav: NavRecord


def first_mark_date(portfolio: Portfolio) -> date:
    """The first business day on or after inception: the NAV's first date."""
    day = portfolio.inception_date
    return day if is_business_day(day) else next_business_day(day)


def last_mark_date(portfolio: Portfolio) -> date | None:
    return NavRecord.objects.filter(portfolio=portfolio).aggregate(d=Max("date"))["d"]


class _Fixings:
    """The fixings MTM needs around one date, loaded in one query."""

    def __init__(self, days: list[date]) -> None:
        rows = Fixing.objects.filter(date__in=days).values_list("index", "date", "value")
        self._by = {(index, d): v for index, d, v in rows}
        self._pro_rata: dict[date, Decimal | None] = {}

    def get(self, index: str, day: date) -> Decimal | None:
        return self._by.get((index, day))

    def ipca_pro_rata(self, day: date) -> Decimal | None:
        """B3's IPCA pro-rata index of `day` (the DAP's correction), or None without its base."""
        if day not in self._pro_rata:
            self._pro_rata[day] = ipca_pro_rata_on(day)
        return self._pro_rata[day]


def _terms(instrument: Instrument, fixings: _Fixings, day: date) -> calc.Terms:
    multiplier = instrument.multiplier
    index = fixings.ipca_pro_rata(day) if instrument.kind == InstrumentKind.DAP else None
    if index is not None:
        # B3: the DAP point is R$ 0.00025 times the day's IPCA pro-rata index.
        multiplier = DAP_POINT * index
    return calc.Terms(
        multiplier=multiplier,
        daily_settled=instrument.is_future,
        is_usd=instrument.currency == "USD",
    )


def _market(
    instrument: Instrument,
    price: Any,
    prev_rate: Decimal | None,
    carried: bool,
    day: date,
    prev_day: date,
    fixings: _Fixings,
    missing: list[str],
) -> calc.Market:
    """Today's inputs for one position's instrument: FX, carry factors, coupon, DV01."""
    fx, settle_fx = _fx(instrument, day, prev_day, fixings, missing)
    carry, implied = ONE, ONE  # opened today: PA_t − PO, no carry factor needed
    if carried:
        carry, implied = _carry(instrument.kind, prev_rate, prev_day, day, fixings, missing)
    if instrument.kind == InstrumentKind.DAP:
        _check_dap_index((day, prev_day) if carried else (day,), fixings, missing)
    dv01, coupon = _dv01_and_coupon(instrument, price, day, prev_day, fixings)
    multiplier = _terms(instrument, fixings, day).multiplier
    return calc.Market(
        price=price.price,
        fx=fx,
        settle_fx=settle_fx,
        carry_factor=carry,
        implied_factor=implied,
        coupon=coupon,
        dv01_per_unit=dv01 * multiplier * settle_fx,
    )


def _fx(
    instrument: Instrument, day: date, prev_day: date, fixings: _Fixings, missing: list[str]
) -> tuple[Decimal, Decimal]:
    """(fx, settle_fx): the PTAX a position is valued at, and the one its ajuste is paid at."""
    kind = instrument.kind
    usd = instrument.currency == "USD"
    ptax = fixings.get(FixingIndex.PTAX_SELL, day) if usd or kind in ("DDI", "FRC") else ONE
    if ptax is None:
        missing.append(f"PTAX {day:%Y-%m-%d}")
        ptax = ONE
    fx = ptax if usd else ONE
    settle_fx = fx if instrument.is_future else ONE
    if kind in (InstrumentKind.DDI, InstrumentKind.FRC):
        # B3: every DDI/FRC ajuste is paid in BRL at PTAX_{t−1}, a new position's
        # (PA_t − PO) · M · PTAX_{t−1} · N as a carried one's; the DV01 likewise.
        ptax_prev = fixings.get(FixingIndex.PTAX_SELL, prev_day)
        if ptax_prev is None:
            missing.append(f"PTAX {prev_day:%Y-%m-%d} (DDI/FRC settlement)")
        else:
            settle_fx = ptax_prev
    return fx, settle_fx


def _carry(
    kind: str,
    prev_rate: Decimal | None,
    prev_day: date,
    day: date,
    fixings: _Fixings,
    missing: list[str],
) -> tuple[Decimal, Decimal]:
    """(carry, implied) factors of a quantity carried from `prev_day` (ONE when none apply)."""
    if kind in (InstrumentKind.DI1, InstrumentKind.DAP):
        return _di_carry(kind, prev_rate, prev_day, day, fixings, missing)
    if kind in (InstrumentKind.DDI, InstrumentKind.FRC):
        return _ddi_carry(prev_day, fixings, missing)
    return ONE, ONE


def _di_carry(
    kind: str,
    prev_rate: Decimal | None,
    prev_day: date,
    day: date,
    fixings: _Fixings,
    missing: list[str],
) -> tuple[Decimal, Decimal]:
    cdi_prev = fixings.get(FixingIndex.CDI, prev_day)
    if cdi_prev is None:
        missing.append(f"CDI {prev_day:%Y-%m-%d}")
        return ONE, ONE
    carry = pricing.cdi_daily_factor(cdi_prev)
    before, today = fixings.ipca_pro_rata(prev_day), fixings.ipca_pro_rata(day)
    if kind == InstrumentKind.DAP and before is not None and today is not None:
        # DAP is a real-rate contract: its PU is carried at CDI net of the day's growth
        # of the IPCA pro-rata index (B3: FC = CDI factor / (P_t / P_{t−1})).
        carry = pricing.dap_carry_factor(cdi_prev, before, today)
    implied = (ONE + prev_rate) ** (ONE / 252) if prev_rate is not None else ONE
    return carry, implied


def _ddi_carry(prev_day: date, fixings: _Fixings, missing: list[str]) -> tuple[Decimal, Decimal]:
    ptax_prev = fixings.get(FixingIndex.PTAX_SELL, prev_day)
    before = fixings.get(FixingIndex.PTAX_SELL, previous_business_day(prev_day))
    cdi_prev = fixings.get(FixingIndex.CDI, prev_day)
    if ptax_prev is None or before is None or cdi_prev is None:
        missing.append(f"PTAX/CDI for the DDI carry of {prev_day:%Y-%m-%d}")
        return ONE, ONE
    # B3: FC = (1 + DI_{t−1})^(1/252) / (PTAX_{t−1} / PTAX_{t−2}); ajuste at PTAX_{t−1}.
    carry = pricing.cdi_daily_factor(cdi_prev) / (ptax_prev / before)
    return carry, carry


def _check_dap_index(days: tuple[date, ...], fixings: _Fixings, missing: list[str]) -> None:
    for needed in days:
        if fixings.ipca_pro_rata(needed) is None:
            missing.append(f"IPCA index for the DAP pro rata of {needed:%Y-%m-%d}")


def _dv01_and_coupon(
    instrument: Instrument, price: Any, day: date, prev_day: date, fixings: _Fixings
) -> tuple[Decimal, Decimal]:
    """DV01 per unit (rate-quoted, priced) and the coupon paid since `prev_day` (NTN-F/B)."""
    kind = instrument.kind
    vna = _vna(kind, day, fixings)
    dv01, coupon = ZERO, ZERO
    needs_vna = kind in (InstrumentKind.NTNB, InstrumentKind.LFT)
    maturity = instrument.maturity
    priced = instrument.is_rate_quoted and price.rate is not None and maturity is not None
    if priced and maturity is not None and (vna is not None or not needs_vna):
        dv01 = dv01_at(RateTerms(kind, maturity, vna), price.rate, day)
    if kind in (InstrumentKind.NTNF, InstrumentKind.NTNB) and maturity:
        coupon = coupon_per_unit(kind, maturity, prev_day, day, vna)
    return dv01, coupon


def _vna(kind: str, day: date, fixings: _Fixings) -> Decimal | None:
    if kind == InstrumentKind.NTNB:
        return fixings.get(FixingIndex.VNA_NTNB, day)
    if kind == InstrumentKind.LFT:
        return fixings.get(FixingIndex.VNA_LFT, day)
    return None


def _carry_of(mark: DailyMark | None) -> calc.Carry:
    if mark is None:
        return calc.Carry()
    return calc.Carry(
        quantity=mark.quantity,
        price=mark.price,
        fx=mark.fx_rate,
        market_value=mark.market_value_brl,
        cost_basis=mark.cost_basis_brl,
        open_pnl=mark.unrealized_pnl_brl,
        realized=mark.realized_pnl_brl,
        cum_pnl=mark.cum_pnl_brl,
    )


def _check_date(portfolio: Portfolio, day: date) -> tuple[date, NavRecord | None]:
    if not is_business_day(day):
        raise MtmError(f"{day:%Y-%m-%d} is not an ANBIMA business day.")
    if day > timezone.localdate():
        raise MtmError(f"{day:%Y-%m-%d} is in the future.")
    first = first_mark_date(portfolio)
    if day < first:
        raise MtmError(f"{portfolio} starts on {first:%Y-%m-%d}; nothing to mark on {day}.")
    prev_day = previous_business_day(day)
    prev_nav = NavRecord.objects.filter(portfolio=portfolio, date=prev_day).first()
    if day > first and prev_nav is None:
        raise MtmError(
            f"{portfolio} has no MTM for {prev_day:%Y-%m-%d}: run the catch-up "
            f"(manage.py run_mtm --catch-up) so days are marked in order."
        )
    return prev_day, prev_nav


@transaction.atomic
def run_mtm(portfolio: Portfolio, day: date, *, by: User | None = None) -> MtmResult:
    """Mark every position of `portfolio` on `day` and close its NAV bridge."""
    prev_day, prev_nav = _check_date(portfolio, day)
    basis = basis_now(portfolio.pk)  # before the inputs: a price written later shows as newer
    trades = Trade.objects.effective().filter(portfolio=portfolio, trade_date=day)
    fills, fees_total, _ = fills_of(trades)
    prev_marks = _previous_marks(portfolio, day, prev_day, set(fills))
    position_ids = {pk for pk, m in prev_marks.items() if m.quantity != 0} | set(fills)
    positions = list(Position.objects.filter(pk__in=position_ids).select_related("instrument"))
    instruments = {p.instrument_id: p.instrument for p in positions}
    prices = effective_prices(day, instruments)
    _check_prices(portfolio, day, positions, prices, prev_marks)
    fixings = _Fixings([day, prev_day, previous_business_day(prev_day)])
    cdi_prev = fixings.get(FixingIndex.CDI, prev_day)
    missing = [f"CDI {prev_day:%Y-%m-%d}"] if prev_nav is not None and cdi_prev is None else []
    rows = value_positions(day, prev_day, positions, prices, prev_marks, fills, fixings, missing)
    if missing:
        listed = ", ".join(sorted(set(missing)))
        raise MtmError(f"MTM of {portfolio} on {day:%Y-%m-%d} stopped: missing fixings {listed}.")
    with without_refresh():  # see apps.core.cache.bump: the pipeline warms at its end
        DailyMark.objects.filter(portfolio=portfolio, date=day).delete()
        insert_rows(DailyMark, rows)  # bulk_create without its SQL building (10k rows)
        bump(portfolio.pk)  # bulk writes fire no signals: the fund's read models
        nav = _close_nav(portfolio, day, prev_nav, rows, fees_total, cdi_prev, basis.prices)
    _journal_run(portfolio, day, nav, len(rows), by)
    return MtmResult(portfolio, day, len(rows), nav)


def value_positions(
    day: date,
    prev_day: date,
    positions: list[Position],
    prices: dict[int, Any],
    prev_marks: dict[int, DailyMark],
    fills: dict[int, list[calc.Fill]],
    fixings: _Fixings,
    missing: list[str],
) -> list[DailyMark]:
    """Every position's mark of `day` (unsaved) from yesterday's marks, the day's fills and
    prices (anything with `price` and `rate`: a settlement, or an intraday estimate's quote);
    a missing fixing is added to `missing`. The one valuation the MTM and the intraday
    estimate share, so both follow the same B3 rules."""
    markets, terms = _markets(day, prev_day, positions, prices, prev_marks, fixings, missing)
    rows = []
    for position in positions:
        instrument = position.instrument
        prev = prev_marks.get(position.pk)
        mark = calc.mark_position(
            terms[instrument.pk],
            _carry_of(prev),
            fills.get(position.pk, []),
            markets[(instrument.pk, prev is not None and prev.quantity != 0)],
        )
        rows.append(_mark_row(position, day, prices[instrument.pk].rate, mark))
    return rows


def fills_of(trades: Iterable[Trade]) -> tuple[dict[int, list[calc.Fill]], Decimal, int]:
    """Effective trades as fills by position, the fees they paid (negative) and how many
    there were (the MTM's one day; the intraday estimate's days since the close)."""
    fills: dict[int, list[calc.Fill]] = defaultdict(list)
    fees_total = ZERO
    count = 0
    for trade in trades:
        assert trade.position_id is not None
        fills[trade.position_id].append(
            calc.Fill(trade.signed_quantity, trade.price, trade.fx_rate, trade.fees)
        )
        fees_total -= trade.fees
        count += 1
    return fills, fees_total, count


def _check_prices(
    portfolio: Portfolio,
    day: date,
    positions: list[Position],
    prices: dict[int, Any],
    prev_marks: dict[int, DailyMark],
) -> None:
    """MtmError when an instrument has no price or an open position's contract has matured."""
    instruments = {p.instrument_id: p.instrument for p in positions}
    missing = sorted(i.ticker for pk, i in instruments.items() if pk not in prices)
    expired = sorted(
        p.instrument.ticker
        for p in positions
        if p.instrument.maturity
        and day >= p.instrument.maturity
        and p.pk in prev_marks
        and prev_marks[p.pk].quantity != 0
    )
    if missing or expired:
        problems = []
        if missing:
            problems.append(f"no settlement price on {day:%Y-%m-%d} for {', '.join(missing)}")
        if expired:
            problems.append(f"open positions in matured contracts: {', '.join(expired)}")
        raise MtmError(f"MTM of {portfolio} on {day:%Y-%m-%d} stopped: " + "; ".join(problems))


def _markets(
    day: date,
    prev_day: date,
    positions: list[Position],
    prices: dict[int, Any],
    prev_marks: dict[int, DailyMark],
    fixings: _Fixings,
    missing: list[str],
) -> tuple[dict[tuple[int, bool], calc.Market], dict[int, calc.Terms]]:
    """Market inputs and terms by instrument; every missing fixing is added to `missing`.

    They depend on the instrument (and whether a quantity was carried), not on the position:
    each instrument is priced once, however many strategies hold it."""
    markets: dict[tuple[int, bool], calc.Market] = {}
    terms: dict[int, calc.Terms] = {}
    for position in positions:
        instrument = position.instrument
        prev = prev_marks.get(position.pk)
        carried = prev is not None and prev.quantity != 0
        key = (instrument.pk, carried)
        if key not in markets:
            markets[key] = _market(
                instrument,
                prices[instrument.pk],
                prev.rate if prev is not None else None,
                carried,
                day,
                prev_day,
                fixings,
                missing,
            )
            terms[instrument.pk] = _terms(instrument, fixings, day)
    return markets, terms


def _journal_run(
    portfolio: Portfolio, day: date, nav: NavRecord, marks: int, by: User | None
) -> None:
    journal(
        kind=EntryKind.MTM_RUN,
        actor=by,
        portfolio=portfolio,
        on_date=day,
        snapshot={
            "positions": marks,
            "nav": nav.nav_close,
            "pnl": nav.pnl_brl,
            "cash_interest": nav.cash_interest_brl,
            "fees": nav.fees_brl,
            "flows": nav.flows_brl,
        },
    )


# What the next day reads of a mark (`_carry_of`, the rate and quantity checks): 10k marks
# of ~25 columns each cost more to build than to fetch.
CARRIED_FIELDS = (
    "position_id",
    "date",
    "quantity",
    "price",
    "rate",
    "fx_rate",
    "market_value_brl",
    "cost_basis_brl",
    "unrealized_pnl_brl",
    "realized_pnl_brl",
    "cum_pnl_brl",
)


def _previous_marks(
    portfolio: Portfolio, day: date, prev_day: date, traded: set[int]
) -> dict[int, DailyMark]:
    """Yesterday's marks, plus the last mark of a flat position traded again today, so its
    realised and cumulative P&L carry on rather than restart."""
    carried = DailyMark.objects.only(*CARRIED_FIELDS)
    marks = {m.position_id: m for m in carried.filter(portfolio=portfolio, date=prev_day)}
    reopened = traded - set(marks)
    if reopened:
        last = (
            DailyMark.objects.filter(position_id__in=reopened, date__lt=day)
            .values("position_id")
            .annotate(last=Max("date"))
        )
        wanted = Q()
        for row in last:
            wanted |= Q(position_id=row["position_id"], date=row["last"])
        if last:
            marks.update({m.position_id: m for m in carried.filter(wanted)})
    return marks


def _mark_row(position: Position, day: date, rate: Decimal | None, m: calc.Mark) -> DailyMark:
    return DailyMark(
        position=position,
        portfolio_id=position.portfolio_id,
        date=day,
        quantity=m.quantity,
        price=m.price,
        rate=rate,
        fx_rate=m.fx,
        notional_brl=m.notional,
        exposure_brl=m.exposure,
        market_value_brl=m.market_value,
        cost_basis_brl=m.cost_basis,
        dv01_brl=m.dv01,
        pnl_price_brl=m.pnl_price,
        pnl_fx_brl=m.pnl_fx,
        pnl_carry_brl=m.pnl_carry,
        fees_brl=m.fees,
        pnl_brl=m.pnl,
        cash_flow_brl=m.cash_flow,
        realized_pnl_brl=m.realized,
        unrealized_pnl_brl=m.unrealized,
        cum_pnl_brl=m.cum_pnl,
    )


def _close_nav(
    portfolio: Portfolio,
    day: date,
    prev: NavRecord | None,
    rows: list[DailyMark],
    fees: Decimal,
    cdi_prev: Decimal | None,
    prices_version: int,
) -> NavRecord:
    """NAV_t = NAV_{t−1} + P&L + CDI on cash + fees + flows, and = cash + holdings."""
    values = nav_values(portfolio, day, prev, rows, fees, cdi_prev)
    nav, _ = NavRecord.objects.update_or_create(
        portfolio=portfolio,
        date=day,
        defaults={**values, "prices_version": prices_version},
    )
    return nav


def nav_values(
    portfolio: Portfolio,
    day: date,
    prev: NavRecord | None,
    rows: list[DailyMark],
    fees: Decimal,
    cdi_prev: Decimal | None,
) -> dict[str, Decimal]:
    """The NAV bridge of `day` from its marks (what `_close_nav` stores)."""
    nav_open = prev.nav_close if prev else portfolio.initial_nav
    cash_open = prev.cash_brl if prev else portfolio.initial_nav
    interest = ZERO
    if prev is not None and cdi_prev is not None:
        # Cash (positive or negative) accrues CDI of the previous business day, as a
        # custodian's overnight sweep does; settlement lags are not modelled for interest.
        interest = calc.a2(cash_open * (pricing.cdi_daily_factor(cdi_prev) - ONE))
    flows = sum(
        (f.signed_amount for f in CapitalFlow.objects.filter(portfolio=portfolio, date=day)),
        ZERO,
    )
    pnl = sum((r.pnl_brl for r in rows), ZERO)
    cash = cash_open + interest + sum((r.cash_flow_brl for r in rows), ZERO) + fees + flows
    holdings = sum((r.market_value_brl for r in rows), ZERO)
    return {
        "nav_open": nav_open,
        "pnl_brl": pnl,
        "cash_interest_brl": interest,
        "fees_brl": fees,
        "flows_brl": flows,
        "nav_close": nav_open + pnl + interest + fees + flows,
        "cash_brl": cash,
        "holdings_value_brl": holdings,
    }


@transaction.atomic
def catch_up(portfolio: Portfolio, through: date, *, by: User | None = None) -> list[MtmResult]:
    """Mark every missing business day up to `through`, in order."""
    last = last_mark_date(portfolio)
    start = next_business_day(last) if last else first_mark_date(portfolio)
    return [run_mtm(portfolio, d, by=by) for d in business_days_between(start, through)]


@transaction.atomic
def recompute_from(portfolio: Portfolio, start: date, *, by: User | None = None) -> list[MtmResult]:
    """Re-mark `start` and every later marked day (after a backdated trade or a price fix)."""
    last = last_mark_date(portfolio)
    if last is None or start > last:
        return []
    begin = max(start, first_mark_date(portfolio))
    return [run_mtm(portfolio, d, by=by) for d in business_days_between(begin, last)]
