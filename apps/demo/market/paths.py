"""The random drivers of the demo market: policy rate, curve factors, FX, equities, IPCA.

Every path starts at a fixed epoch and is driven by its own numpy stream
(`default_rng([seed, stream])`) that draws one row per business day, in order. numpy fills
arrays sequentially, so the first n draws do not depend on how many follow: extending the
end date (tomorrow's run, or `--years 3` after `--years 1`) leaves every earlier number as it
was, and `seed_demo` can add the new days to an existing demo market without a seam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from apps.marketdata.calendar import LIST_SWITCH_DATE, business_days_between, next_business_day

EPOCH = date(2019, 1, 2)

# Daily shocks, one column each. Correlations are the usual Brazilian "risk-off" picture:
# the real weakens (USD/BRL up), local rates rise, the Ibovespa falls, offshore equities fall.
FACTORS = ("level", "slope", "curvature", "real", "cupom", "usdbrl", "ibov", "spx", "zn")
_CORRELATION = {
    ("level", "slope"): 0.40,
    ("level", "curvature"): -0.20,
    ("level", "real"): 0.60,
    ("level", "usdbrl"): 0.35,
    ("level", "ibov"): -0.35,
    ("real", "usdbrl"): 0.20,
    ("real", "ibov"): -0.30,
    ("cupom", "usdbrl"): 0.20,
    ("usdbrl", "ibov"): -0.55,
    ("usdbrl", "spx"): -0.30,
    ("ibov", "spx"): 0.45,
    ("spx", "zn"): -0.20,
}
# Student-t(6) volatility mixing, capped at 2.5 times: most days are calm, a few move three or
# four sigmas, none ten.
_TAIL_DF = 6.0
_TAIL_CAP = 2.5

# Copom meets eight times a year, about every 45 days; the decision takes effect on the next
# business day. (month, day) of a typical calendar's Wednesday.
_COPOM_MEETINGS = ((1, 29), (3, 19), (5, 7), (6, 18), (7, 30), (9, 17), (11, 5), (12, 10))
SELIC_FLOOR, SELIC_CAP = 0.10, 0.15
CDI_BELOW_TARGET = 0.0010  # CDI and Selic over trade 10 bp under the target.


@dataclass(frozen=True)
class MarketPaths:
    """Daily values on `days` (business days from EPOCH to a horizon past the end)."""

    days: list[date]
    selic_target: np.ndarray
    level: np.ndarray
    slope: np.ndarray
    curvature: np.ndarray
    real: np.ndarray
    cupom: np.ndarray
    usdbrl: np.ndarray
    ibov: np.ndarray
    spx: np.ndarray
    zn: np.ndarray
    bond_spread: np.ndarray
    lft_premium: np.ndarray
    ptax_noise: np.ndarray
    ipca: dict[tuple[int, int], float]  # (year, month) -> monthly change, 2 dp in %
    cdi_logs: np.ndarray  # cumulative sum of log(1 + CDI), cdi_logs[i] over days [0, i)

    @property
    def cdi(self) -> np.ndarray:
        return self.selic_target - CDI_BELOW_TARGET

    def expected_cdi(self, i: int, horizon: int) -> float:
        """Annual rate compounding the daily CDI of days [i, i + horizon), base 252.

        The demo's DI1 desk has perfect foresight of the next year of Copom decisions: it
        prices meetings before they happen, so the short end moves smoothly, not in steps.
        """
        end = min(i + max(horizon, 1), len(self.days))
        return float(np.expm1((self.cdi_logs[end] - self.cdi_logs[i]) / (end - i)))


def trading_days(start: date, end: date) -> list[date]:
    """Business days of [start, end], each judged by the holiday list of its own time.

    `business_days_between` applies the list in force on `start` to the whole range, which for
    a start before 2023-12-26 keeps 20/11/2024 as a business day. The current list is right
    for every date (20/11 is a holiday only from 2024 on), so it is the one used here.
    """
    return business_days_between(start, end, as_of=LIST_SWITCH_DATE)


def simulate(seed: int, epoch: date, horizon: date) -> MarketPaths:
    """Simulate every driver on the business days of [epoch, horizon]."""
    days = trading_days(epoch, horizon)
    n = len(days)
    shocks = _correlated_shocks(seed, n)
    col = {name: shocks[:, k] for k, name in enumerate(FACTORS)}
    target = _selic_target(seed, days)
    cdi = target - CDI_BELOW_TARGET
    cdi_logs = np.concatenate([[0.0], np.cumsum(np.log1p(cdi))])
    idx = np.arange(n)
    ends = np.minimum(idx + 252, n)
    one_year = np.expm1((cdi_logs[ends] - cdi_logs[idx]) / (ends - idx))

    # Curve factors (see curves.py for the loadings). The slope mean-reverts to a level that
    # inverts the curve when the policy rate is high and steepens it when low, around a 12 %
    # long-run anchor, as the DI1 curve did in 2015-2025.
    slope_anchor = 0.5 * (0.12 - one_year) + 0.004
    level = _ou(col["level"], mean=0.0, kappa=0.005, sigma=0.0004, start=0.0)
    slope = _ou(col["slope"], mean=slope_anchor, kappa=0.01, sigma=0.0003, start=slope_anchor[0])
    curvature = _ou(col["curvature"], mean=0.0, kappa=0.02, sigma=0.0003, start=0.0)
    real = _ou(col["real"], mean=0.06, kappa=0.01, sigma=0.0003, start=0.058, band=(0.052, 0.068))
    cupom = _ou(col["cupom"], mean=0.05, kappa=0.01, sigma=0.0003, start=0.048)
    usdbrl = np.exp(
        _ou(col["usdbrl"], np.log(5.45), 0.015, 0.008, np.log(5.2), band=(np.log(5.0), np.log(6.0)))
    )
    ibov = np.exp(
        _ou(col["ibov"], np.log(127_500), 0.02, 0.011, np.log(124_000), band=_log(120e3, 135e3))
    )
    spx = np.exp(_ou(col["spx"], np.log(5_800), 0.01, 0.010, np.log(5_400), band=_log(5e3, 6.5e3)))
    zn = _ou(col["zn"], mean=110.0, kappa=0.02, sigma=0.35, start=110.0)

    idio = np.random.default_rng([seed, 3]).standard_normal((n, 3))
    bond_spread = _ou(idio[:, 0], mean=0.0008, kappa=0.03, sigma=0.0001, start=0.0008)
    lft_premium = _ou(idio[:, 1], mean=0.0008, kappa=0.03, sigma=0.00005, start=0.0008)
    ptax_noise = 0.0015 * idio[:, 2]

    return MarketPaths(
        days=days,
        selic_target=target,
        level=level,
        slope=slope,
        curvature=curvature,
        real=real,
        cupom=cupom,
        usdbrl=usdbrl,
        ibov=ibov,
        spx=spx,
        zn=zn,
        bond_spread=bond_spread,
        lft_premium=lft_premium,
        ptax_noise=ptax_noise,
        ipca=_ipca_months(seed, epoch, horizon),
        cdi_logs=cdi_logs,
    )


def _correlated_shocks(seed: int, n: int) -> np.ndarray:
    k = len(FACTORS)
    corr = np.eye(k)
    for (a, b), rho in _CORRELATION.items():
        i, j = FACTORS.index(a), FACTORS.index(b)
        corr[i, j] = corr[j, i] = rho
    chol = np.linalg.cholesky(corr)
    normals = np.random.default_rng([seed, 1]).standard_normal((n, k))
    chi2 = np.random.default_rng([seed, 2]).chisquare(_TAIL_DF, n)
    # Scale to unit variance so sigma keeps its meaning; the tails get fatter, not the body.
    tails = np.minimum(np.sqrt(_TAIL_DF / chi2) * np.sqrt((_TAIL_DF - 2.0) / _TAIL_DF), _TAIL_CAP)
    return np.asarray((normals @ chol.T) * tails[:, None])


def _ou(
    shocks: np.ndarray,
    mean: float | np.ndarray,
    kappa: float,
    sigma: float,
    start: float,
    band: tuple[float, float] | None = None,
) -> np.ndarray:
    """Discrete Ornstein-Uhlenbeck path; outside `band` the pull back is ten times stronger."""
    means = np.broadcast_to(np.asarray(mean, dtype=float), shocks.shape)
    out = np.empty_like(shocks)
    x = start
    for i, z in enumerate(shocks):
        pull = kappa
        if band is not None and not band[0] <= x <= band[1]:
            pull = 10 * kappa
        x = x + pull * (means[i] - x) + sigma * z
        out[i] = x
    return out


def _log(low: float, high: float) -> tuple[float, float]:
    return float(np.log(low)), float(np.log(high))


def copom_effective_dates(epoch: date, horizon: date) -> list[date]:
    """Business days on which a new Selic target takes effect (the day after each meeting)."""
    dates = []
    for year in range(epoch.year, horizon.year + 1):
        for month, day in _COPOM_MEETINGS:
            effective = next_business_day(date(year, month, day))
            if epoch < effective <= horizon:
                dates.append(effective)
    return dates


def _selic_target(seed: int, days: list[date]) -> np.ndarray:
    """Selic target per day: Copom cycles of 25-100 bp moves toward a drifting policy stance.

    The stance is a persistent AR(1) across meetings around 12.5 %. The committee holds while
    within 40 bp of it, otherwise moves half the gap (25-100 bp, in quarter points), and never
    reverses a move within three meetings: easing, hold and tightening cycles within 10-15 %.
    """
    meetings = copom_effective_dates(days[0], days[-1])
    draws = np.random.default_rng([seed, 4]).standard_normal(len(meetings)).tolist()
    target, stance = 0.1250, 0.1250
    last_direction, since_move = 0, 99
    moves: dict[date, float] = {}
    for effective, z in zip(meetings, draws, strict=True):
        stance = min(max(0.125 + 0.93 * (stance - 0.125) + 0.005 * z, 0.095), 0.155)
        gap = stance - target
        direction = int(math.copysign(1, gap)) if abs(gap) >= 0.004 else 0
        since_move += 1
        if direction and not (direction == -last_direction and since_move <= 3):
            size = min(max(round(abs(gap) / 2 / 0.0025) * 0.0025, 0.0025), 0.01)
            moved = round(min(max(target + direction * size, SELIC_FLOOR), SELIC_CAP), 4)
            if moved != target:
                target, last_direction, since_move = moved, direction, 0
        moves[effective] = target
    path = np.empty(len(days))
    current = 0.1250
    for i, day in enumerate(days):
        current = moves.get(day, current)
        path[i] = current
    return path


def _ipca_months(seed: int, epoch: date, horizon: date) -> dict[tuple[int, int], float]:
    """Monthly IPCA, rounded to 2 decimals in % as IBGE publishes it (about 4.5 % a year).

    AR(1) around 0.37 % a month with the usual first-quarter seasonality (school fees, food).
    """
    months = []
    # From the month before the epoch: the NTN-B VNA of the epoch's first days needs it.
    cursor = (date(epoch.year, epoch.month, 1) - timedelta(days=1)).replace(day=1)
    while cursor <= horizon:
        months.append((cursor.year, cursor.month))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    draws = np.random.default_rng([seed, 5]).standard_normal(len(months))
    seasonal = {1: 0.0015, 2: 0.0020, 3: 0.0008, 4: 0.0005, 6: -0.0010, 7: -0.0008, 8: -0.0010}
    result: dict[tuple[int, int], float] = {}
    deviation = 0.0
    for (year, month), z in zip(months, draws, strict=True):
        deviation = 0.6 * deviation + 0.0012 * z
        value = 0.0037 + seasonal.get(month, 0.0) + deviation
        result[(year, month)] = round(value * 100, 2) / 100
    return result
