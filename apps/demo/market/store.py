"""Write the demo market: only the days and rows that are missing, in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from apps.core.cache import bump
from apps.demo.market.generator import generate_market
from apps.demo.market.paths import trading_days
from apps.demo.market.rows import DemoMarket
from apps.marketdata.changes import MARKED_FIXINGS, by_day, fixing_moves, note_prices
from apps.marketdata.models import Fixing, FixingIndex, Instrument, PriceSource, SettlementPrice

BATCH_SIZE = 2000
FIXING_SOURCE = "DEMO"


@dataclass(frozen=True)
class StoreResult:
    instruments: int
    prices: int
    fixings: int


@dataclass(frozen=True)
class SeedResult:
    days: list[date]  # business days of the window
    generated_from: date | None  # first day generated; None when the window was complete
    added: StoreResult
    generated: StoreResult  # rows generated for [generated_from, end]


def seed_demo_market(start: date, end: date, *, seed: int) -> SeedResult:
    """Generate and store the demo market of [start, end], from its first unseeded day on.

    A day counts as seeded when it has DEMO prices and a CDI fixing. A day's numbers do not
    depend on the window (see paths.py), so generating only the missing tail gives the same
    rows as generating everything, and a daily re-run prices one day instead of three years.
    """
    days = trading_days(start, end)
    first = first_unseeded_day(days)
    if first is None:
        return SeedResult(days, None, StoreResult(0, 0, 0), StoreResult(0, 0, 0))
    market = generate_market(first, end, seed=seed)
    generated = StoreResult(len(market.instruments), len(market.prices), len(market.fixings))
    return SeedResult(days, first, store_demo_market(market), generated)


def first_unseeded_day(days: list[date]) -> date | None:
    """The first of `days` without DEMO prices or without a CDI fixing."""
    if not days:
        return None
    window = (days[0], days[-1])
    priced = set(
        SettlementPrice.objects.filter(source=PriceSource.DEMO, date__range=window)
        .values_list("date", flat=True)
        .distinct()
    )
    fixed = set(
        Fixing.objects.filter(index=FixingIndex.CDI, date__range=window).values_list(
            "date", flat=True
        )
    )
    return next((day for day in days if day not in priced or day not in fixed), None)


@transaction.atomic
def store_demo_market(market: DemoMarket) -> StoreResult:
    """Insert the market's missing instruments, DEMO prices and fixings; returns what was added.

    Existing rows are never touched: an instrument the back office already created is reused,
    a fixing from any source wins over the demo's, and a price from another source simply
    outranks the DEMO row (SOURCE_PRIORITY). Bulk inserts fire no signals; nothing cached
    depends on market data yet (when it does, bump the data version here).
    """
    ids, instruments_added = _ensure_instruments(market)
    existing_prices = set(
        SettlementPrice.objects.filter(
            source=PriceSource.DEMO,
            instrument_id__in=ids.values(),
            date__range=(market.start, market.end),
        ).values_list("instrument_id", "date")
    )
    new_prices = [
        SettlementPrice(
            instrument_id=ids[row.ticker],
            date=row.date,
            source=PriceSource.DEMO,
            price=row.price,
            rate=row.rate,
        )
        for row in market.prices
        if (ids[row.ticker], row.date) not in existing_prices
    ]
    # ignore_conflicts: a concurrent seed of the same rows is not an error.
    SettlementPrice.objects.bulk_create(new_prices, batch_size=BATCH_SIZE, ignore_conflicts=True)

    first_fixing = min((row.date for row in market.fixings), default=market.start)
    existing_fixings = set(
        Fixing.objects.filter(date__range=(first_fixing, market.end)).values_list("index", "date")
    )
    new_fixings = [
        Fixing(index=row.index, date=row.date, value=row.value, source=FIXING_SOURCE)
        for row in market.fixings
        if (row.index, row.date) not in existing_fixings
    ]
    Fixing.objects.bulk_create(new_fixings, batch_size=BATCH_SIZE, ignore_conflicts=True)
    bump(refresh=False)  # bulk writes fire no signals: every fund's read models
    changes = by_day((p.instrument_id, p.date) for p in new_prices)
    changes.update(
        {fixing_moves(f.index, f.date): None for f in new_fixings if f.index in MARKED_FIXINGS}
    )
    note_prices(changes, reason="demo market data stored")
    other = {f.date: None for f in new_fixings if f.index not in MARKED_FIXINGS}
    note_prices(other, reason="demo fixings the MTM does not read", moves_marks=False)
    return StoreResult(
        instruments=instruments_added, prices=len(new_prices), fixings=len(new_fixings)
    )


def _ensure_instruments(market: DemoMarket) -> tuple[dict[str, int], int]:
    """Ticker -> id for every instrument of the market, creating the missing ones."""
    tickers = sorted(market.instruments)
    known = dict(Instrument.objects.filter(ticker__in=tickers).values_list("ticker", "pk"))
    missing = [
        Instrument(
            ticker=spec.ticker,
            name=spec.name,
            kind=spec.kind,
            asset_class=spec.asset_class,
            currency=spec.currency,
            multiplier=spec.multiplier,
            maturity=spec.maturity,
            quote_convention=spec.quote_convention,
            underlying=spec.underlying,
        )
        for ticker, spec in sorted(market.instruments.items())
        if ticker not in known
    ]
    Instrument.objects.bulk_create(missing, batch_size=BATCH_SIZE, ignore_conflicts=True)
    ids = dict(Instrument.objects.filter(ticker__in=tickers).values_list("ticker", "pk"))
    return ids, len(missing)
