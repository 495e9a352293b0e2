"""Attribution benchmark: the YTD read model on 5 years × 500 positions of daily marks.

The setup bulk-creates the book directly (the MTM engine would take hours for 630k marks):
positions and their opening trades, one `DailyMark` per position and business day, CDI
fixings, and NAV records whose bridge closes (NAV_close = NAV_open + P&L + CDI on cash + fees
+ flows) and equal cash + holdings (cash is what is left of the NAV after the holdings). It is
idempotent: a repeat reuses what the first one built. Nothing is cached, so every repeat reads
the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from scripts.bench import BenchOp, Scale, report
from scripts.bench.positions import _instruments, _portfolio, _positions

SEED = 7
POSITIONS = 500
STRATEGIES = 5
# Five years of marks ending on the last business day of June 2025 (clear of the demo market);
# YTD is then the first half of 2025, ~124 business days × 500 positions.
FIRST_DAY, LAST_DAY = date(2020, 7, 1), date(2025, 6, 30)
# R$ 2 bn: the bonds and equities the positions bench draws (~R$ 0.9 bn) leave cash positive.
NAV = Decimal("2000000000.00")
FLOWS = {300: Decimal("150000000.00"), 900: Decimal("-100000000.00")}  # by day index
DAYS_PER_BATCH = 40  # ~20k marks per bulk_create call: bounded memory
CENT = Decimal("0.01")
ZERO = Decimal("0")


@dataclass(frozen=True)
class AttributionState:
    portfolio: Any
    label: str


@dataclass
class _Book:
    """One position as the generator walks it: fixed size, a random P&L each day."""

    position_id: int
    quantity: Decimal
    price: Decimal
    notional: float  # BRL, signed
    holds_value: bool  # a cash instrument (equity, bond) is in the NAV; a future is not
    carry: bool  # a DI1: part of its price P&L is CDI carry
    vol: float  # daily, fraction of notional
    cum: Decimal = ZERO


def _cdi_rates(days: list[date], rng: random.Random) -> dict[date, Decimal]:
    """A Selic-like path between 2 % and 15 %, moving a little on a few days a year."""
    rate, out = 0.0215, {}
    for day in days:
        if rng.random() < 0.02:
            rate = min(0.15, max(0.02, rate + rng.choice((-0.005, 0.0025, 0.005, 0.0075))))
        out[day] = Decimal(f"{rate:.4f}")
    return out


def _fixings(rates: dict[date, Decimal]) -> None:
    from apps.marketdata.models import Fixing

    Fixing.objects.bulk_create(
        [Fixing(index="CDI", date=d, value=v, source="BENCH") for d, v in rates.items()],
        ignore_conflicts=True,
        batch_size=2000,
    )


def _books(positions: list[tuple[Any, Any, Decimal, Decimal]], rng: random.Random) -> list[_Book]:
    out = []
    for position, instrument, qty, price in positions:
        notional = float(price * qty * instrument.multiplier)
        out.append(
            _Book(
                position_id=position.pk,
                quantity=qty,
                price=price,
                notional=notional,
                holds_value=not instrument.is_future,
                carry=instrument.kind == "DI1",
                vol=rng.uniform(0.002, 0.012),
            )
        )
    return out


def _marks_for(
    day: date, index: int, books: list[_Book], portfolio_id: int, cdi_day: float, rng: random.Random
) -> tuple[list[Any], Decimal, Decimal, Decimal]:
    """Every position's mark on one day; the day's P&L, fees and holdings."""
    from apps.positions.models import DailyMark

    marks, pnl_total, fees_total, holdings = [], ZERO, ZERO, ZERO
    for b in books:
        pnl = Decimal(round(b.notional * rng.gauss(0.0001, b.vol) * 100)) * CENT if index else ZERO
        carry = Decimal(round(b.notional * cdi_day * 100)) * CENT if b.carry and index else ZERO
        fees = Decimal(-round(abs(b.notional) * 0.00002 * 100)) * CENT if index == 0 else ZERO
        b.cum += pnl
        value = (Decimal(round(b.notional * 100)) * CENT + b.cum) if b.holds_value else ZERO
        marks.append(
            DailyMark(
                position_id=b.position_id,
                portfolio_id=portfolio_id,
                date=day,
                quantity=b.quantity,
                price=b.price,
                notional_brl=abs(value) if b.holds_value else Decimal(abs(round(b.notional))),
                exposure_brl=Decimal(round(b.notional)),
                market_value_brl=value,
                pnl_price_brl=pnl,
                pnl_carry_brl=carry,
                fees_brl=fees,
                pnl_brl=pnl,
                cash_flow_brl=ZERO if b.holds_value else pnl,
                realized_pnl_brl=ZERO,
                unrealized_pnl_brl=b.cum,
                cum_pnl_brl=b.cum,
            )
        )
        pnl_total += pnl
        fees_total += fees
        holdings += value
    return marks, pnl_total, fees_total, holdings


def _build(portfolio: Any, books: list[_Book], days: list[date], rng: random.Random) -> int:
    """Marks and NAV records for every day, written in batches; returns the marks written."""
    from apps.marketdata.pricing import cdi_daily_factor
    from apps.positions.models import DailyMark, NavRecord

    rates = _cdi_rates(days, rng)
    _fixings(rates)
    factors = {d: cdi_daily_factor(r) for d, r in rates.items()}
    nav, cash, written = portfolio.initial_nav, portfolio.initial_nav, 0
    marks: list[Any] = []
    navs: list[Any] = []
    for i, day in enumerate(days):
        factor = factors[days[i - 1]] if i else Decimal(1)  # accrues the previous day's CDI
        day_marks, pnl, fees, holdings = _marks_for(
            day, i, books, portfolio.pk, float(factor) - 1, rng
        )
        interest = (cash * (factor - 1)).quantize(CENT)
        flows = FLOWS.get(i, ZERO)
        close = nav + pnl + interest + fees + flows
        cash = close - holdings
        navs.append(
            NavRecord(
                portfolio=portfolio,
                date=day,
                nav_open=nav,
                pnl_brl=pnl,
                cash_interest_brl=interest,
                fees_brl=fees,
                flows_brl=flows,
                nav_close=close,
                cash_brl=cash,
                holdings_value_brl=holdings,
            )
        )
        marks += day_marks
        nav = close
        if (i + 1) % DAYS_PER_BATCH == 0 or i == len(days) - 1:
            DailyMark.objects.bulk_create(marks, batch_size=5000)
            written += len(marks)
            marks = []
    NavRecord.objects.bulk_create(navs, batch_size=2000)
    return written


def _setup(scale: Scale) -> AttributionState:
    from apps.marketdata.calendar import business_days_between
    from apps.positions.models import DailyMark

    count = scale.size(POSITIONS)
    portfolio, strategies, created = _portfolio(f"bench-attr-{scale.name}", FIRST_DAY, STRATEGIES)
    if portfolio.initial_nav != NAV:
        portfolio.initial_nav = NAV
        portfolio.save(update_fields=["initial_nav"])
    days = business_days_between(FIRST_DAY, LAST_DAY)
    label = f"{count} positions × {len(days)} days"
    if created:
        rng = random.Random(SEED)
        instruments = _instruments("ATE", max(1, count // len(strategies)), LAST_DAY)
        positions = _positions(portfolio, strategies, instruments, count, FIRST_DAY, rng)
        written = _build(portfolio, _books(positions, rng), days, rng)
        report(f"setup {portfolio.code}", f"[built {written:,} marks]")
    else:
        report(
            f"setup {portfolio.code}",
            f"[{DailyMark.objects.filter(portfolio=portfolio).count():,} marks]",
        )
    return AttributionState(portfolio, label)


def _run(state: AttributionState) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.attribution.queries import build_attribution, resolve_period

    with CaptureQueriesContext(connection) as queries:
        result = build_attribution(state.portfolio, resolve_period(state.portfolio, "ytd"))
    assert result.days and result.by_strategy, "empty attribution"
    report(
        f"run {state.portfolio.code}",
        f"[{len(result.days)} YTD days, {len(result.by_instrument) - 1} instruments, "
        f"{len(queries.captured_queries)} SQL queries]",
    )


OPERATIONS = [
    BenchOp(
        f"attribution YTD, 5 years × {POSITIONS} positions of daily marks, uncached",
        target_ms=300,
        setup=_setup,
        run=_run,
        repeats=5,
    ),
]
