"""Intraday benchmarks on the 500-position book of the trading benchmark (marked on its close):
the day after, with intraday prices entered for a third of its instruments, the estimate of
the book now (P&L by the MTM's B3 rules against the close, exposures, DV01:
`positions.intraday.estimate`; target ≤ 150 ms) and the same with its full risk (VaR, ES,
stress on the close's factor history: `risk.intraday.intraday_report`; target ≤ 300 ms). The
risk keeps each position's revaluations between runs (as a recompute after each trade or
price does): the first run of the day is reported as cold, the median is of the warm runs."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from scripts.bench import BenchOp, Scale, report
from scripts.bench.positions import BOOK_DAY, BOOK_POSITIONS
from scripts.bench.trading import _setup as trading_setup

ESTIMATE_MS, WITH_VAR_MS = 150, 300


@dataclass(frozen=True)
class IntradayState:
    portfolio: Any
    now: datetime


def _setup(scale: Scale) -> IntradayState:
    from apps.marketdata.calendar import next_business_day
    from apps.marketdata.intraday import Entry, enter_prices
    from apps.marketdata.models import IntradayPrice
    from apps.marketdata.queries import effective_prices
    from apps.positions.models import Position
    from scripts.bench.positions import _user

    portfolio = trading_setup(scale).ticket.portfolio
    day = next_business_day(BOOK_DAY)
    now = datetime.combine(day, time(11, 0), ZoneInfo("America/Sao_Paulo"))
    held = sorted(
        {
            p.instrument
            for p in Position.objects.filter(portfolio=portfolio).select_related("instrument")
        },
        key=lambda i: i.ticker,
    )
    if not IntradayPrice.objects.filter(day=day, instrument__in=held).exists():
        rng = random.Random(7)
        closes = effective_prices(BOOK_DAY, [i.pk for i in held])
        entries = []
        for instrument in held[::3]:
            close = closes[instrument.pk]
            if instrument.is_rate_quoted and close.rate is not None:
                move = Decimal(rng.randrange(-15, 16)) / 100  # ±15 bp, in % points
                entries.append(Entry(instrument.ticker, rate_pct=close.rate * 100 + move))
            elif not instrument.is_rate_quoted:
                factor = Decimal(1 + rng.uniform(-0.01, 0.01)).quantize(Decimal("0.0001"))
                entries.append(
                    Entry(instrument.ticker, price=(close.price * factor).quantize(Decimal("0.01")))
                )
        enter_prices(entries, by=_user(), source=IntradayPrice.Source.API, now=now)
    return IntradayState(portfolio, now)


def _estimate(state: IntradayState) -> None:
    from apps.positions.intraday import estimate

    result = estimate(state.portfolio, now=state.now)
    assert result.status == "ok", result.status
    report(
        "intraday",
        f"[{len(result.rows)} positions, {len(result.intraday_quotes)} intraday prices, "
        f"P&L {result.pnl:,.0f}, DV01 {result.dv01:,.0f}]",
    )


def _with_var(state: IntradayState) -> None:
    from apps.positions.intraday import estimate
    from apps.risk.intraday import intraday_report

    report_ = intraday_report(state.portfolio, estimate(state.portfolio, now=state.now))
    report("intraday-var", f"[VaR99 {report_.var99:,.0f}, {report_.scenarios} scenarios]")


OPERATIONS = [
    BenchOp(
        f"intraday: estimate of the {BOOK_POSITIONS}-position book (P&L, DV01)",
        target_ms=ESTIMATE_MS,
        setup=_setup,
        run=_estimate,
        repeats=5,
    ),
    BenchOp(
        f"intraday: the {BOOK_POSITIONS}-position book with VaR, ES and stress",
        target_ms=WITH_VAR_MS,
        setup=_setup,
        run=_with_var,
        repeats=5,
    ),
]
