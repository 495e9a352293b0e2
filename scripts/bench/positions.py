"""Book benchmarks: the book read model on 500 positions, the MTM of 10,000 positions.

Setups bulk-create instruments, positions, trades, marks, prices and NAV records directly
(realistic values, consistent NAV bridges) so only the operation itself is timed. They are
idempotent: a repeat reuses what the first one built.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from scripts.bench import BenchOp, Scale, report

SEED = 42
BOOK_POSITIONS = 500
MTM_POSITIONS = 10_000
QUERY_TARGET = 10
# First half of 2025: clear of the demo market (`seed_demo` ends yesterday) and of its fixings.
BOOK_START, BOOK_DAY = date(2025, 1, 2), date(2025, 6, 30)
MTM_PREV, MTM_DAY = date(2025, 5, 30), date(2025, 6, 2)
CDI = Decimal("0.1465")
NAV = Decimal("500000000.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BookState:
    portfolio: Any
    day: date
    label: str


def _user() -> Any:
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    return user


def _instruments(prefix: str, count: int, today: date) -> list[Any]:
    """About 30 % DI1, 10 % WDO/IND, 15 % LTN, the rest equities: a macro fund's mix."""
    from apps.marketdata.contracts import MONTH_CODES, parse_ticker
    from apps.marketdata.models import Instrument

    n_di1, n_fut, n_ltn = count * 30 // 100, count * 10 // 100, count * 15 // 100
    tickers = [f"DI1{MONTH_CODES[i % 12]}{27 + i // 12:02d}" for i in range(n_di1)]
    tickers += [
        f"WDO{MONTH_CODES[(today.month + i) % 12]}{today.year % 100 + 1:02d}"
        for i in range(min(n_fut // 2, 12))
    ]
    tickers += [
        f"IND{'GJMQVZ'[i % 6]}{today.year % 100 + 1 + i // 6:02d}"
        for i in range(n_fut - min(n_fut // 2, 12))
    ]
    tickers += [f"LTN_{2027 + i // 2}{'01' if i % 2 == 0 else '07'}01" for i in range(n_ltn)]
    rows = []
    for ticker in tickers:
        spec = parse_ticker(ticker)
        rows.append(
            Instrument(
                ticker=ticker,
                name=spec.name,
                kind=spec.kind,
                asset_class=spec.asset_class,
                currency=spec.currency,
                multiplier=spec.multiplier,
                maturity=spec.maturity,
                quote_convention=spec.quote_convention,
                underlying=spec.underlying,
            )
        )
    for i in range(count - len(rows)):
        ticker = f"{prefix}{i:03d}"
        rows.append(
            Instrument(
                ticker=ticker, name=f"Bench equity {ticker}", kind="EQUITY", asset_class="EQUITY"
            )
        )
    Instrument.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Instrument.objects.filter(ticker__in=[r.ticker for r in rows]).order_by("ticker"))


def _quote(instrument: Any, day: date, rng: random.Random) -> tuple[Decimal, Decimal | None]:
    """A plausible settlement (price, rate) for `day`."""
    from apps.marketdata import pricing
    from apps.marketdata.calendar import business_days

    if instrument.kind == "DI1":
        rate = Decimal(rng.randrange(13500, 15500)).scaleb(-5)
        return pricing.di1_pu(rate, business_days(day, instrument.maturity)), rate
    if instrument.kind == "LTN":
        rate = Decimal(rng.randrange(13500, 15000)).scaleb(-5)
        return pricing.ltn_pu(rate, day, instrument.maturity), rate
    if instrument.kind == "WDO":
        return Decimal(rng.randrange(540000, 600000)).scaleb(-2), None
    if instrument.kind == "IND":
        return Decimal(rng.randrange(120000, 140000)), None
    return Decimal(rng.randrange(500, 9000)).scaleb(-2), None


def _portfolio(code: str, inception: date, strategies: int) -> tuple[Any, list[Any], bool]:
    from apps.positions.models import Portfolio, Strategy

    portfolio, created = Portfolio.objects.get_or_create(
        code=code,
        defaults={"name": f"Bench {code}", "inception_date": inception, "initial_nav": NAV},
    )
    Strategy.objects.bulk_create(
        [
            Strategy(portfolio=portfolio, code=f"s{i:03d}", name=f"Strategy {i:03d}")
            for i in range(strategies)
        ],
        ignore_conflicts=True,
    )
    return portfolio, list(Strategy.objects.filter(portfolio=portfolio).order_by("code")), created


def _quantity(instrument: Any, rng: random.Random) -> Decimal:
    sign = rng.choice((1, -1))
    if instrument.kind == "DI1":
        return Decimal(sign * rng.randrange(10, 800))
    if instrument.kind in ("WDO", "IND"):
        return Decimal(sign * rng.randrange(5, 200))
    if instrument.kind == "LTN":
        return Decimal(rng.randrange(1000, 30000))
    return Decimal(sign * rng.randrange(100, 50000, 100))


def _mark(
    position: Any,
    instrument: Any,
    qty: Decimal,
    day: date,
    price: Decimal,
    rate: Any,
    prev: Any,
    rng: random.Random,
) -> Any:
    """A mark with the shape the engine writes (futures hold no value; cash instruments do)."""
    from apps.positions.models import DailyMark

    future = instrument.is_future
    notional = (price * qty * instrument.multiplier).quantize(CENT)
    pnl = (notional * Decimal(rng.gauss(0, 0.004))).quantize(CENT)
    cum = (prev.cum_pnl_brl if prev else Decimal("0")) + pnl
    cost = Decimal("0") if future else notional - cum
    return DailyMark(
        position=position,
        portfolio_id=position.portfolio_id,
        date=day,
        quantity=qty,
        price=price,
        rate=rate,
        notional_brl=abs(notional),
        exposure_brl=notional,
        market_value_brl=Decimal("0") if future else notional,
        cost_basis_brl=cost,
        dv01_brl=(-notional * Decimal("0.00009")).quantize(CENT)
        if rate is not None
        else Decimal("0"),
        pnl_price_brl=pnl,
        pnl_brl=pnl,
        cash_flow_brl=pnl if future else Decimal("0"),
        realized_pnl_brl=Decimal("0"),
        unrealized_pnl_brl=cum,
        cum_pnl_brl=cum,
    )


def _navs(portfolio: Any, days: list[date], marks_by_day: dict[date, list[Any]]) -> None:
    """NAV records that close: NAV_t = NAV_{t−1} + P&L, = cash + holdings."""
    from apps.positions.models import NavRecord

    rows, nav = [], portfolio.initial_nav
    for day in days:
        marks = marks_by_day[day]
        pnl = sum((m.pnl_brl for m in marks), Decimal("0"))
        holdings = sum((m.market_value_brl for m in marks), Decimal("0"))
        close = nav + pnl
        rows.append(
            NavRecord(
                portfolio=portfolio,
                date=day,
                nav_open=nav,
                pnl_brl=pnl,
                cash_interest_brl=Decimal("0"),
                fees_brl=Decimal("0"),
                flows_brl=Decimal("0"),
                nav_close=close,
                cash_brl=close - holdings,
                holdings_value_brl=holdings,
            )
        )
        nav = close
    NavRecord.objects.bulk_create(rows)


def _positions(
    portfolio: Any,
    strategies: list[Any],
    instruments: list[Any],
    count: int,
    opened: date,
    rng: random.Random,
) -> list[tuple[Any, Any, Decimal, Decimal]]:
    """`count` positions (strategy × instrument), each opened by one trade."""
    from apps.positions.models import Position, Side, Trade

    pairs = [(s, i) for s in strategies for i in instruments][:count]
    quantities = [_quantity(i, rng) for _, i in pairs]
    prices = [_quote(i, opened, rng)[0] for _, i in pairs]
    Position.objects.bulk_create(
        [
            Position(
                portfolio=portfolio,
                strategy=s,
                instrument=i,
                quantity=q,
                avg_cost=p,
                opened_date=opened,
            )
            for (s, i), q, p in zip(pairs, quantities, prices, strict=True)
        ],
        batch_size=2000,
    )
    by_key = {
        (p.strategy_id, p.instrument_id): p for p in Position.objects.filter(portfolio=portfolio)
    }
    positions = [by_key[(s.pk, i.pk)] for s, i in pairs]
    user = _user()
    Trade.objects.bulk_create(
        [
            Trade(
                portfolio=portfolio,
                strategy=s,
                instrument=i,
                position=pos,
                side=Side.BUY if q > 0 else Side.SELL,
                quantity=abs(q),
                price=p,
                trade_date=opened,
                settlement_date=opened,
                created_by=user,
            )
            for (s, i), pos, q, p in zip(pairs, positions, quantities, prices, strict=True)
        ],
        batch_size=2000,
    )
    return [
        (pos, i, q, p)
        for (_, i), pos, q, p in zip(pairs, positions, quantities, prices, strict=True)
    ]


# --- the book read model on 500 positions ------------------------------------------------------


def _setup_book(scale: Scale, *, history: bool) -> BookState:
    from apps.marketdata.calendar import business_days_between
    from apps.positions.models import DailyMark

    count = scale.size(BOOK_POSITIONS)
    code = f"bench-book-{'ytd' if history else 'day'}-{scale.name}"
    first = BOOK_START if history else BOOK_DAY
    portfolio, strategies, created = _portfolio(code, first, 10)
    label = f"{count} positions, {'YTD' if history else 'one day of'} marks"
    if not created:
        return BookState(portfolio, BOOK_DAY, label)
    rng = random.Random(SEED)
    instruments = _instruments("BKE", max(1, count // len(strategies)), BOOK_DAY)
    positions = _positions(portfolio, strategies, instruments, count, first, rng)
    days = business_days_between(first, BOOK_DAY)
    quotes = {(i.pk, d): _quote(i, d, rng) for d in days for i in instruments}
    marks_by_day: dict[date, list[Any]] = {}
    previous: dict[int, Any] = {}
    for day in days:
        marks = []
        for position, instrument, qty, _ in positions:
            price, rate = quotes[(instrument.pk, day)]
            mark = _mark(
                position, instrument, qty, day, price, rate, previous.get(position.pk), rng
            )
            previous[position.pk] = mark
            marks.append(mark)
        marks_by_day[day] = marks
    DailyMark.objects.bulk_create([m for d in days for m in marks_by_day[d]], batch_size=5000)
    _navs(portfolio, days, marks_by_day)
    return BookState(portfolio, BOOK_DAY, label)


def _run_book(state: BookState) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.positions.queries import build_book

    with CaptureQueriesContext(connection) as queries:
        book = build_book(state.portfolio, state.day, include_closed=True)
    count = len(queries.captured_queries)
    assert book.status == "ok" and book.rows, book.message
    flag = "" if count <= QUERY_TARGET else f" > {QUERY_TARGET}: TARGET MISSED"
    report(state.label, f"[{len(book.rows)} rows, {count} SQL queries{flag}]")


# --- MTM of 10,000 positions ----------------------------------------------------------------------


def _setup_mtm(scale: Scale) -> tuple[Any, date]:
    from apps.marketdata.models import Fixing, SettlementPrice
    from apps.positions.models import DailyMark, NavRecord

    count = scale.size(MTM_POSITIONS)
    portfolio, strategies, created = _portfolio(f"bench-mtm-{scale.name}", MTM_PREV, 100)
    # Every repeat marks the same day from scratch.
    DailyMark.objects.filter(portfolio=portfolio, date=MTM_DAY).delete()
    NavRecord.objects.filter(portfolio=portfolio, date=MTM_DAY).delete()
    if not created:
        return portfolio, MTM_DAY
    rng = random.Random(SEED)
    instruments = _instruments("BKM", max(1, count // len(strategies)), MTM_DAY)
    positions = _positions(portfolio, strategies, instruments, count, MTM_PREV, rng)
    prev_quotes = {i.pk: _quote(i, MTM_PREV, rng) for i in instruments}
    marks = [
        _mark(pos, i, q, MTM_PREV, *prev_quotes[i.pk], None, rng) for pos, i, q, _ in positions
    ]
    DailyMark.objects.bulk_create(marks, batch_size=5000)
    _navs(portfolio, [MTM_PREV], {MTM_PREV: marks})
    SettlementPrice.objects.bulk_create(
        [
            SettlementPrice(instrument=i, date=d, source="B3", price=price, rate=rate)
            for d in (MTM_PREV, MTM_DAY)
            for i in instruments
            for price, rate in [prev_quotes[i.pk] if d == MTM_PREV else _quote(i, d, rng)]
        ],
        ignore_conflicts=True,
    )
    Fixing.objects.bulk_create(
        [Fixing(index="CDI", date=d, value=CDI, source="BENCH") for d in (MTM_PREV, MTM_DAY)]
        + [
            Fixing(index="PTAX_SELL", date=d, value=Decimal("5.6543"), source="BENCH")
            for d in (MTM_PREV, MTM_DAY)
        ],
        ignore_conflicts=True,
    )
    return portfolio, MTM_DAY


def _run_mtm(state: tuple[Any, date]) -> None:
    from apps.positions.mtm import run_mtm

    result = run_mtm(*state)
    report(f"mtm {state[0].code}", f"[{result.marks:,} marks]")


OPERATIONS = [
    BenchOp(
        f"book read model, {BOOK_POSITIONS} positions (one marked date)",
        target_ms=300,
        setup=lambda scale: _setup_book(scale, history=False),
        run=_run_book,
        repeats=5,
    ),
    BenchOp(
        f"book read model, {BOOK_POSITIONS} positions (6 months of marks)",
        target_ms=300,
        setup=lambda scale: _setup_book(scale, history=True),
        run=_run_book,
        repeats=5,
    ),
    BenchOp(
        f"MTM of {MTM_POSITIONS:,} positions for one date",
        target_ms=2000,
        setup=_setup_mtm,
        run=_run_mtm,
        repeats=3,
    ),
]
