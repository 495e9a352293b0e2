"""The intraday estimate of a fund's book: the positions as they stand now (today's trades
included), valued at the intraday prices entered today and at the last close elsewhere, by
the MTM's own valuation (`mtm.value_positions`): P&L against the last close by the same B3
rules, exposures, DV01. Provisional and never written to the database (a cached read model,
warmed after a trade or a price): the EOD's marks supersede it.

Where an instrument has no intraday price, the estimate takes its official settlement of the
day if one is already loaded, else the close carried over: a rate-quoted instrument at the
close's rate (its PU rolled to today, so an unchanged rate shows only the day's carry), any
other at the close's price. A fixing not yet published for today (PTAX, VNA) is taken from
the latest day that has it, and the estimate says so.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.core.cache import Cached, breaker, read, warmer
from apps.marketdata.calendar import is_business_day, previous_business_day
from apps.marketdata.intraday import latest_quotes
from apps.marketdata.models import FixingIndex, Instrument
from apps.marketdata.pricing import PricingError
from apps.marketdata.queries import effective_quotes, latest_fixing
from apps.marketdata.valuation import RateTerms, pu_at
from apps.positions.models import DailyMark, NavRecord, Portfolio, Position, Trade
from apps.positions.mtm import (
    _Fixings,
    _previous_marks,
    fills_of,
    last_mark_date,
    nav_values,
    value_positions,
)

ZERO = Decimal("0")
# What the valuation and the risk read of a position (a few hundred per run: no timestamps).
INSTRUMENT_FIELDS = ("ticker", "kind", "asset_class", "currency", "multiplier", "maturity")
POSITION_FIELDS = (
    "portfolio_id",
    "strategy__code",
    "instrument__quote_convention",
    *(f"instrument__{name}" for name in INSTRUMENT_FIELDS),
)
VNA = {"NTNB": FixingIndex.VNA_NTNB, "LFT": FixingIndex.VNA_LFT}


@dataclass(frozen=True)
class Quote:
    """The price an estimate values an instrument at, and where it came from."""

    price: Decimal
    rate: Decimal | None
    source: str  # "intraday", "settlement" (today's official, not yet marked) or "close"
    at: datetime | None = None


class _LatestFixings(_Fixings):
    """The MTM's fixings, with a fixing not yet published for a day taken from the latest day
    that has it (noted in `estimated`)."""

    def __init__(self, days: list[date]) -> None:
        super().__init__(days)
        self.estimated: list[str] = []

    def get(self, index: str, day: date) -> Decimal | None:
        value = super().get(index, day)
        if value is None:
            row = latest_fixing(index, day)  # `day`'s own is missing: an earlier one
            if row is not None:
                value = self._by[(index, day)] = row.value
                self.estimated.append(
                    f"{index} of {day:%d/%m/%Y} not published: {row.date:%d/%m/%Y}'s used"
                )
        return value

    def ipca_pro_rata(self, day: date) -> Decimal | None:
        value = super().ipca_pro_rata(day)
        if value is None and is_business_day(day):
            before = previous_business_day(day)
            value = self._pro_rata[day] = super().ipca_pro_rata(before)
            if value is not None:
                self.estimated.append(f"IPCA pro rata of {day:%d/%m/%Y}: {before:%d/%m/%Y}'s used")
        return value


@dataclass
class EstimateRow:
    position_id: int
    ticker: str
    strategy: str
    quantity: Decimal
    price: Decimal
    rate: Decimal | None
    source: str
    quoted_at: datetime | None
    pnl: Decimal
    dv01: Decimal
    exposure: Decimal
    price_places: int
    close_price: Decimal | None = None
    close_rate: Decimal | None = None


@dataclass
class Estimate:
    """The intraday estimate of one fund (`status` "ok"), or why there is none."""

    portfolio_id: int
    # "ok"; "unmarked"; "closed" (not a trading day); "superseded" (today's EOD ran);
    # "behind" (the last close is older than the previous business day: the EOD must catch up)
    status: str
    day: date
    base_day: date | None = None
    computed_at: datetime = field(default_factory=timezone.now)
    rows: list[EstimateRow] = field(default_factory=list)
    marks: list[DailyMark] = field(default_factory=list)
    nav_base: Decimal = ZERO
    nav: Decimal = ZERO
    pnl: Decimal = ZERO
    interest: Decimal = ZERO
    fees: Decimal = ZERO
    flows: Decimal = ZERO
    dv01: Decimal = ZERO
    gross: Decimal = ZERO
    net: Decimal = ZERO
    trades_today: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def intraday_quotes(self) -> list[EstimateRow]:
        seen: dict[str, EstimateRow] = {}
        for row in self.rows:
            if row.source == "intraday":
                seen.setdefault(row.ticker, row)
        return sorted(seen.values(), key=lambda row: row.ticker)

    @property
    def latest_quote_at(self) -> datetime | None:
        return max((r.quoted_at for r in self.rows if r.quoted_at), default=None)

    @property
    def pnl_pct(self) -> Decimal | None:
        return self.pnl / self.nav_base if self.nav_base else None


def estimate(portfolio: Portfolio, *, now: datetime | None = None) -> Estimate:
    """The fund's intraday estimate now."""
    clock = time.perf_counter()
    today = timezone.localdate(now)
    base = last_mark_date(portfolio)
    if not is_business_day(today):
        return Estimate(portfolio.pk, "closed", today, base)
    if base is None:
        return Estimate(portfolio.pk, "unmarked", today)
    if base >= today:
        return Estimate(portfolio.pk, "superseded", today, base)
    if base < previous_business_day(today):
        # One step from the close is what the B3 rules value (a day's carry, a day's ajuste):
        # the missing closes must be marked first.
        return Estimate(portfolio.pk, "behind", today, base)
    result = _estimate(portfolio, today, base)
    result.seconds = time.perf_counter() - clock
    return result


def _estimate(portfolio: Portfolio, day: date, base: date) -> Estimate:
    fills, fees, traded = fills_of(  # the trades since the close (Trade's order: date, pk)
        Trade.objects.effective().filter(
            portfolio=portfolio, trade_date__gt=base, trade_date__lte=day
        )
    )
    prev_marks = _previous_marks(portfolio, day, base, set(fills))
    position_ids = {pk for pk, m in prev_marks.items() if m.quantity != 0} | set(fills)
    positions = list(
        Position.objects.filter(pk__in=position_ids)
        .select_related("instrument", "strategy")
        .only(*POSITION_FIELDS)
    )
    instruments = {p.instrument_id: p.instrument for p in positions}
    fixings = _LatestFixings([day, base, previous_business_day(base)])
    closes = effective_quotes(base, instruments)
    quotes, warnings = _quotes(day, instruments, closes, fixings)
    missing: list[str] = []
    matured = sorted(
        p.instrument.ticker
        for p in positions
        if p.instrument.maturity is not None and p.instrument.maturity <= day
    )
    if matured:
        warnings.append(f"matured today, left to the EOD's settlement: {', '.join(matured)}")
    priced = [
        p for p in positions if p.instrument_id in quotes and p.instrument.ticker not in matured
    ]
    marks = value_positions(day, base, priced, quotes, prev_marks, fills, fixings, missing)
    nav_base = NavRecord.objects.get(portfolio=portfolio, date=base)
    nav = nav_values(portfolio, day, nav_base, marks, fees, fixings.get(FixingIndex.CDI, base))
    warnings += fixings.estimated + [
        f"missing {m}: valued without it" for m in sorted(set(missing))
    ]
    by_id = {p.pk: p for p in priced}
    rows = [
        _row(mark, by_id[mark.position_id], quotes, closes)
        for mark in marks
        if mark.quantity or mark.pnl_brl
    ]
    return Estimate(
        portfolio_id=portfolio.pk,
        status="ok",
        day=day,
        base_day=base,
        rows=rows,
        marks=marks,
        nav_base=nav_base.nav_close,
        nav=nav["nav_close"],
        pnl=nav["pnl_brl"],
        interest=nav["cash_interest_brl"],
        fees=nav["fees_brl"],
        flows=nav["flows_brl"],
        dv01=sum((m.dv01_brl for m in marks), ZERO),
        gross=sum((abs(m.exposure_brl) for m in marks), ZERO),
        net=sum((m.exposure_brl for m in marks), ZERO),
        trades_today=traded,
        warnings=warnings,
    )


def _quotes(
    day: date,
    instruments: dict[int, Instrument],
    closes: dict[int, Any],
    fixings: _LatestFixings,
) -> tuple[dict[int, Quote], list[str]]:
    """Each instrument's quote: intraday, else today's settlement, else the close rolled."""
    intraday = latest_quotes(day, instruments)
    official = effective_quotes(day, instruments)
    quotes: dict[int, Quote] = {}
    warnings = []
    for pk, instrument in instruments.items():
        if pk in intraday:
            row = intraday[pk]
            quotes[pk] = Quote(row.price, row.rate, "intraday", row.at)
        elif pk in official:
            quotes[pk] = Quote(official[pk].price, official[pk].rate, "settlement")
        elif pk in closes:
            quotes[pk] = _rolled(instrument, closes[pk].price, closes[pk].rate, day, fixings)
        else:
            warnings.append(f"{instrument.ticker} has no price: left out of the estimate")
    return quotes, warnings


def _rolled(
    instrument: Instrument, price: Decimal, rate: Decimal | None, day: date, fixings: _Fixings
) -> Quote:
    """The close carried to `day`: a rate-quoted instrument's PU at the close's rate."""
    if rate is not None and instrument.is_rate_quoted and instrument.maturity:
        index = VNA.get(instrument.kind)
        vna = fixings.get(index, day) if index else None
        with suppress(PricingError, ValueError):  # else valued at the close's PU
            price = pu_at(RateTerms(instrument.kind, instrument.maturity, vna), rate, day)
    return Quote(price, rate, "close")


def _row(
    mark: DailyMark, position: Position, quotes: dict[int, Quote], closes: dict[int, Any]
) -> EstimateRow:
    instrument = position.instrument
    quote = quotes[instrument.pk]
    close = closes.get(instrument.pk)
    return EstimateRow(
        position_id=position.pk,
        ticker=instrument.ticker,
        strategy=position.strategy.code,
        quantity=mark.quantity,
        price=mark.price,
        rate=mark.rate,
        source=quote.source,
        quoted_at=quote.at,
        pnl=mark.pnl_brl,
        dv01=mark.dv01_brl,
        exposure=mark.exposure_brl,
        price_places=instrument.price_places,
        close_price=close.price if close else None,
        close_rate=close.rate if close else None,
    )


def cached_estimate(portfolio: Portfolio) -> Cached:
    """The estimate, cache-first under the fund's and the market's data versions (a trade, a
    price or an intraday price makes a new key)."""
    day = timezone.localdate()
    return read(
        "intraday",
        portfolio.pk,
        lambda: estimate(portfolio),
        params=day.isoformat(),
        bypass=connection.in_atomic_block,  # an uncommitted state is never cached
    )


@warmer("intraday")
def warm_estimate(portfolio: Portfolio) -> None:
    """The estimate into the cache on a trading day after the close (the refresh after a
    trade or a price, the pipelines' warm step): the book page's miss does not compute it."""
    if intraday_counts(portfolio) and not breaker.is_open:
        cached_estimate(portfolio)


def intraday_counts(portfolio: Portfolio) -> bool:
    """True when an intraday estimate can be made: a trading day whose previous business day
    is the fund's last close."""
    base = last_mark_date(portfolio)
    today = timezone.localdate()
    return is_business_day(today) and base is not None and base == previous_business_day(today)
