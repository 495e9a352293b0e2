"""Risk factors and their daily history, built from stored settlements and fixings.

Factors: the DI1 curve at fixed vertices (rates), the DAP real curve at fixed vertices, the
cupom cambial (the ~1-year DDI rate), USD/BRL (PTAX), Ibovespa (the front IND contract), and
each offshore future root (its front contract). Rate factors move in decimal rate; the others
in simple returns, always measured on one contract between two days (never across a roll).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from apps.marketdata.calendar import business_days
from apps.marketdata.models import Fixing, FixingIndex, InstrumentKind, SettlementPrice
from apps.risk.calculations import Array, interpolate_rates

DI_VERTICES = np.array([21, 63, 126, 252, 504, 756, 1008, 1260, 2520], dtype=float)
DAP_VERTICES = np.array([252, 504, 756, 1260, 2520], dtype=float)
HISTORY_DAYS = 252


@dataclass
class FactorHistory:
    """Moves of every factor, one row per scenario date (the day the move ended)."""

    dates: list[date]
    di: Array  # scenarios × DI vertices
    dap: Array  # scenarios × DAP vertices
    linear: dict[str, Array] = field(default_factory=dict)  # USDBRL, IBOV, CUPOM, offshore roots
    warnings: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.dates)


def _curve(points: list[tuple[float, float]], vertices: Array) -> Array | None:
    if len(points) < 2:
        return None
    points.sort()
    du = np.array([p[0] for p in points])
    rates = np.array([p[1] for p in points])
    return interpolate_rates(vertices, du, rates)


def build_history(asof: date, days: int = HISTORY_DAYS) -> FactorHistory:
    """The last `days` daily factor moves ending on `asof` (fewer if history is short)."""
    dates = list(
        SettlementPrice.objects.filter(date__lte=asof)
        .values_list("date", flat=True)
        .distinct()
        .order_by("-date")[: days + 1]
    )[::-1]
    if len(dates) < 2:
        return FactorHistory(
            [],
            np.zeros((0, len(DI_VERTICES))),
            np.zeros((0, len(DAP_VERTICES))),
            warnings=["No price history: VaR cannot be computed."],
        )
    rows = SettlementPrice.objects.filter(date__in=dates).values_list(
        "instrument_id",
        "instrument__kind",
        "instrument__ticker",
        "instrument__maturity",
        "date",
        "price",
        "rate",
        "source",
    )
    # One price per instrument and date: the first by source priority is enough for risk.
    prices: dict[tuple[int, date], tuple[float, float | None]] = {}
    meta: dict[int, tuple[str, str, date | None]] = {}
    for pk, kind, ticker, maturity, day, price, rate, _source in rows:
        prices.setdefault((pk, day), (float(price), None if rate is None else float(rate)))
        meta[pk] = (kind, ticker, maturity)
    ptax = dict(
        Fixing.objects.filter(index=FixingIndex.PTAX_SELL, date__in=dates).values_list(
            "date", "value"
        )
    )
    di_levels: list[Array | None] = []
    dap_levels: list[Array | None] = []
    by_day: dict[date, list[int]] = defaultdict(list)
    for pk, day in prices:
        by_day[day].append(pk)
    for day in dates:
        di_points, dap_points = [], []
        for pk in by_day[day]:
            kind, _ticker, maturity = meta[pk]
            level = prices[(pk, day)][1]
            if level is None or maturity is None or maturity <= day:
                continue
            du = business_days(day, maturity)
            if kind == InstrumentKind.DI1:
                di_points.append((float(du), level))
            elif kind == InstrumentKind.DAP:
                dap_points.append((float(du), level))
        di_levels.append(_curve(di_points, DI_VERTICES))
        dap_levels.append(_curve(dap_points, DAP_VERTICES))

    scenario_dates, di_moves, dap_moves = [], [], []
    linear: dict[str, list[float]] = defaultdict(list)
    warnings: list[str] = []
    roots = _linear_roots(meta)
    for i in range(1, len(dates)):
        before, day = dates[i - 1], dates[i]
        scenario_dates.append(day)
        di_moves.append(_move(di_levels[i], di_levels[i - 1], len(DI_VERTICES)))
        dap_moves.append(_move(dap_levels[i], dap_levels[i - 1], len(DAP_VERTICES)))
        fx_before, fx_now = ptax.get(before), ptax.get(day)
        linear["USDBRL"].append(float(fx_now / fx_before - 1) if fx_before and fx_now else 0.0)
        for factor, members in roots.items():
            linear[factor].append(_front_return(members, meta, prices, before, day))
        linear["CUPOM"].append(_cupom_move(by_day, meta, prices, before, day))
    if len(scenario_dates) < days:
        warnings.append(
            f"Only {len(scenario_dates)} days of factor history (VaR wants {days}): "
            "figures are computed on what exists."
        )
    return FactorHistory(
        scenario_dates,
        np.array(di_moves),
        np.array(dap_moves),
        {name: np.array(values) for name, values in linear.items()},
        warnings,
    )


def _move(now: Array | None, before: Array | None, width: int) -> Array:
    if now is None or before is None:
        return np.zeros(width)
    return now - before


def factor_of(kind: str, ticker: str, currency: str) -> str | None:
    """The linear factor that moves an instrument, or None for curve instruments."""
    if kind in (InstrumentKind.DOL, InstrumentKind.WDO, InstrumentKind.FX_SPOT):
        return "USDBRL"
    if kind in (InstrumentKind.IND, InstrumentKind.WIN) or (
        kind in (InstrumentKind.EQUITY, InstrumentKind.ETF) and currency == "BRL"
    ):
        return "IBOV"
    if kind == InstrumentKind.OFFSHORE_FUTURE:
        return f"OFF:{ticker[:-3]}"
    if kind in (InstrumentKind.EQUITY, InstrumentKind.ETF):
        return f"EQ:{ticker}"
    return None


def _linear_roots(meta: dict[int, tuple[str, str, date | None]]) -> dict[str, list[int]]:
    roots: dict[str, list[int]] = defaultdict(list)
    for pk, (kind, ticker, _maturity) in meta.items():
        if kind == InstrumentKind.IND:
            roots["IBOV"].append(pk)
        elif kind == InstrumentKind.OFFSHORE_FUTURE:
            roots[f"OFF:{ticker[:-3]}"].append(pk)
        elif kind in (InstrumentKind.EQUITY, InstrumentKind.ETF):
            roots[f"EQ:{ticker}"].append(pk)
    return roots


def _front_return(
    members: list[int],
    meta: dict[int, tuple[str, str, date | None]],
    prices: dict[tuple[int, date], tuple[float, float | None]],
    before: date,
    day: date,
) -> float:
    """Return of the nearest contract priced on both days (no roll inside one move)."""
    alive = [
        pk
        for pk in members
        if (pk, before) in prices and (pk, day) in prices and _alive(meta[pk][2], day)
    ]
    if not alive:
        return 0.0
    front = min(alive, key=lambda pk: meta[pk][2] or date.max)
    return prices[(front, day)][0] / prices[(front, before)][0] - 1


def _alive(maturity: date | None, day: date) -> bool:
    return maturity is None or maturity > day


def _cupom_move(
    by_day: dict[date, list[int]],
    meta: dict[int, tuple[str, str, date | None]],
    prices: dict[tuple[int, date], tuple[float, float | None]],
    before: date,
    day: date,
) -> float:
    """Rate change of the DDI contract nearest one year, priced on both days."""
    candidates = []
    for pk in by_day[day]:
        kind, _ticker, maturity = meta[pk]
        if kind != InstrumentKind.DDI or maturity is None or (pk, before) not in prices:
            continue
        now, then = prices[(pk, day)][1], prices[(pk, before)][1]
        if now is not None and then is not None:
            candidates.append((abs((maturity - day).days - 365), now - then))
    return min(candidates)[1] if candidates else 0.0
