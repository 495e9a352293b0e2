"""Performance maths (Django-free): returns, CDI comparison, statistics, linked contributions.

Conventions:

* **Daily return** from the NAV bridge, flows at the end of the day (the bridge accrues CDI on
  the opening cash, so a flow earns nothing on its own day):
  `r_t = (NAV_close − flows_t) / NAV_open − 1`.
* **TWR** chains the daily returns: `Π (1 + r_t) − 1`.
* **Modified Dietz** over T business days, a flow at the end of day i weighted by the share of
  the period still to run, `(T − i) / T`: `(V_end − V_start − ΣF) / (V_start + Σ w_i F_i)`.
* **IRR** (money-weighted): the daily rate d with `V_start (1+d)^T + Σ F_i (1+d)^(T−i) = V_end`,
  reported for the period, `(1+d)^T − 1`.
* **CDI** for day t accrues the previous business day's CDI (as the fund's cash does); the
  period's CDI return is the product of those daily factors minus one; **% of CDI** is
  TWR / CDI return.
* **Annualised** figures use 252 business days. Sharpe and Sortino are on daily excess returns
  over CDI: mean · 252 / (σ · √252). Sortino = mean · 252 / (TDD · √252) with the target
  downside deviation TDD = √(Σ min(excess_t, 0)² / N) over all N days (Sortino & Price 1994;
  CFA Institute): a day above CDI counts as a zero shortfall, it is not dropped.
* **Too few observations**: over fewer than `STATS_MIN_RETURNS` daily returns (21, a month)
  the estimates (annualised return, % of CDI, volatility, Sharpe, Sortino) are None, shown
  "n/a" with the reason; the period's facts (TWR, CDI, drawdown, best/worst day) stay.
* **Contributions** in BRL add up exactly (Decimal). In return terms each day's contribution
  `pnl_g,t / NAV_open_t` is linked over the period by Cariño's factors
  `k_t / K` with `k_t = ln(1+r_t)/r_t`, `K = ln(1+R)/R`, so groups add up to the TWR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np


@dataclass(frozen=True)
class Day:
    date: date
    nav_open: Decimal
    nav_close: Decimal
    flows: Decimal
    cdi_factor: Decimal  # the daily CDI factor accrued on this day (1 on the first day)

    @property
    def ret(self) -> float:
        if self.nav_open == 0:
            return 0.0
        return float((self.nav_close - self.flows) / self.nav_open - 1)


def twr(days: Sequence[Day]) -> float:
    return float(np.prod([1 + d.ret for d in days])) - 1 if days else 0.0


def cdi_return(days: Sequence[Day]) -> float:
    return float(np.prod([float(d.cdi_factor) for d in days])) - 1 if days else 0.0


def modified_dietz(days: Sequence[Day]) -> float:
    if not days:
        return 0.0
    total = len(days)
    start, end = float(days[0].nav_open), float(days[-1].nav_close)
    flows = [(i + 1, float(d.flows)) for i, d in enumerate(days) if d.flows]
    net = sum(f for _, f in flows)
    weighted = sum((total - i) / total * f for i, f in flows)
    denominator = start + weighted
    return (end - start - net) / denominator if denominator else 0.0


def irr(days: Sequence[Day]) -> float:
    """Period money-weighted return (see module docstring), by bisection."""
    if not days:
        return 0.0
    total = len(days)
    start, end = float(days[0].nav_open), float(days[-1].nav_close)
    flows = [(i + 1, float(d.flows)) for i, d in enumerate(days) if d.flows]

    def gap(rate: float) -> float:
        grown = start * (1 + rate) ** total + sum(f * (1 + rate) ** (total - i) for i, f in flows)
        return grown - end

    low, high = -0.5, 0.5
    if gap(low) * gap(high) > 0:
        return math.nan
    for _ in range(200):
        mid = (low + high) / 2
        if gap(low) * gap(mid) <= 0:
            high = mid
        else:
            low = mid
    return (1 + (low + high) / 2) ** total - 1


@dataclass(frozen=True)
class Statistics:
    volatility: float | None  # None (shown "n/a") over fewer than `min_returns` days
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    drawdown_days: int
    drawdown_start: date | None
    drawdown_end: date | None
    hit_rate: float
    best_day: tuple[date, float] | None
    worst_day: tuple[date, float] | None


ESTIMATES = "annualised return, % of CDI, volatility, Sharpe and Sortino"


def too_few_returns(count: int, minimum: int) -> str | None:
    """Why the estimates are not shown over `count` daily returns, or None when enough."""
    if count >= minimum:
        return None
    plural = "" if count == 1 else "s"
    return f"{count} daily return{plural} in the period; {ESTIMATES} need at least {minimum}."


def statistics(days: Sequence[Day], *, min_returns: int = 2) -> Statistics:
    """Period statistics; the annualised estimates are None below `min_returns` days (a 4-day
    Sharpe of −23.90 is noise, not a figure), the period's facts (drawdown, days) always."""
    if not days:
        return Statistics(None, None, None, 0.0, 0, None, None, 0.0, None, None)
    returns = np.array([d.ret for d in days])
    excess = returns - np.array([float(d.cdi_factor) - 1 for d in days])
    vol = float(returns.std(ddof=1) * math.sqrt(252)) if len(days) > 1 else 0.0
    excess_sd = float(excess.std(ddof=1)) if len(days) > 1 else 0.0
    sharpe = float(excess.mean() * 252 / (excess_sd * math.sqrt(252))) if excess_sd else 0.0
    # Target downside deviation: squares of the shortfalls below 0 summed over all N days
    # (days above target count as 0), divided by N, not by the number of negative days.
    down_sd = float(math.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    sortino = float(excess.mean() * 252 / (down_sd * math.sqrt(252))) if down_sd else 0.0
    depth, days_in, start, end = drawdown(days)
    best, worst = int(returns.argmax()), int(returns.argmin())
    enough = len(days) >= max(min_returns, 2)
    return Statistics(
        volatility=vol if enough else None,
        sharpe=sharpe if enough else None,
        sortino=sortino if enough else None,
        max_drawdown=depth,
        drawdown_days=days_in,
        drawdown_start=start,
        drawdown_end=end,
        hit_rate=float((returns > 0).mean()),
        best_day=(days[best].date, float(returns[best])),
        worst_day=(days[worst].date, float(returns[worst])),
    )


def cumulative(days: Sequence[Day]) -> list[float]:
    """The TWR index minus one after each day."""
    return list(np.cumprod([1 + d.ret for d in days]) - 1)


def drawdown_series(days: Sequence[Day]) -> list[float]:
    index = np.cumprod([1 + d.ret for d in days])
    peaks = np.maximum.accumulate(np.concatenate([[1.0], index]))[1:]
    return list(index / peaks - 1)


def drawdown(days: Sequence[Day]) -> tuple[float, int, date | None, date | None]:
    """Deepest fall from a peak, how many business days from the peak to recovery (or to the
    end when not recovered), and the peak and trough dates."""
    series = drawdown_series(days)
    if not series or min(series) >= 0:
        return 0.0, 0, None, None
    trough = int(np.argmin(series))
    index = np.cumprod([1 + d.ret for d in days])
    peak_level = index[trough] / (1 + series[trough])
    peak = max((i for i in range(trough) if index[i] >= peak_level - 1e-12), default=-1)
    recovered = next((i for i in range(trough, len(days)) if index[i] >= peak_level - 1e-12), None)
    length = (recovered if recovered is not None else len(days) - 1) - peak
    start = days[peak].date if peak >= 0 else days[0].date
    return float(series[trough]), int(length), start, days[trough].date


def monthly_grid(days: Sequence[Day]) -> dict[int, dict[int, tuple[float, float]]]:
    """{year: {month: (fund return, CDI return)}}; month 13 is the year's total."""
    grid: dict[int, dict[int, list[Day]]] = {}
    for d in days:
        grid.setdefault(d.date.year, {}).setdefault(d.date.month, []).append(d)
    out: dict[int, dict[int, tuple[float, float]]] = {}
    for year, months in sorted(grid.items()):
        out[year] = {m: (twr(ds), cdi_return(ds)) for m, ds in sorted(months.items())}
        year_days = [d for ds in months.values() for d in ds]
        out[year][13] = (twr(year_days), cdi_return(year_days))
    return out
