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
from decimal import Decimal

import numpy as np

from apps.marketdata.calendar import add_business_days, business_days, business_days_between
from apps.marketdata.models import (
    Fixing,
    FixingIndex,
    Instrument,
    InstrumentKind,
    SettlementPrice,
)
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
    # Business days of the window missing prices: (date, tickers) or (date, ["all instruments"])
    gaps: list[tuple[date, list[str]]] = field(default_factory=list)

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


def history_window(asof: date, days: int = HISTORY_DAYS) -> list[date]:
    """The last `days` + 1 ANBIMA business days up to `asof`: `days` consecutive moves."""
    return business_days_between(add_business_days(asof, -days - 1), asof)[-(days + 1) :]


def build_history(asof: date, days: int = HISTORY_DAYS) -> FactorHistory:
    """The daily factor moves between consecutive ANBIMA business days up to `asof`.

    Rule for gaps (docs/ARCHITECTURE.md, Risk): the window is the calendar's, not the dates
    that happen to have prices, so a hole is never one multi-day "daily" move. A business day
    with no settlement price at all (or no PTAX) drops the two moves that touch it; an
    instrument missing on a day its neighbours have is listed, and its factor moves on the
    contracts priced on both days (or not at all). Both are reported with dates and names.
    """
    window = history_window(asof, days)
    # A year of every instrument's settlements (half a million rows for a firm's 2,000), read
    # once: the bare columns here, each instrument's terms once below.
    rows = SettlementPrice.objects.filter(date__in=window).values_list(
        "instrument_id", "date", "price", "rate"
    )
    # One price per instrument and date: the first by source priority is enough for risk.
    prices: dict[tuple[int, date], tuple[float, float | None]] = {}
    for pk, day, price, rate in rows:
        prices.setdefault((pk, day), (float(price), None if rate is None else float(rate)))
    priced = {day for _, day in prices}
    if len(priced) < 2:
        return FactorHistory(
            [],
            np.zeros((0, len(DI_VERTICES))),
            np.zeros((0, len(DAP_VERTICES))),
            warnings=["No price history: VaR cannot be computed."],
        )
    dates = [d for d in window if d >= min(priced)]  # before the first price: short history
    meta: dict[int, tuple[str, str, date | None]] = {}
    local: set[int] = set()  # BRL equities: they move with IBOV (factor_of), not a factor each
    terms = Instrument.objects.filter(pk__in={pk for pk, _ in prices}).values_list(
        "pk", "kind", "ticker", "maturity", "currency"
    )
    for pk, kind, ticker, maturity, currency in terms:
        meta[pk] = (kind, ticker, maturity)
        if currency == "BRL":
            local.add(pk)
    ptax = dict(
        Fixing.objects.filter(index=FixingIndex.PTAX_SELL, date__in=dates).values_list(
            "date", "value"
        )
    )
    gaps = _gaps(dates, priced, ptax, prices, meta)
    blank = {day for day, names in gaps if names[0] in (ALL_INSTRUMENTS, "PTAX")}
    di_levels: list[Array | None] = []
    dap_levels: list[Array | None] = []
    # Only the curve contracts and the DDIs are looked at day by day (not every stock).
    curves = [pk for pk, m in meta.items() if m[0] in (InstrumentKind.DI1, InstrumentKind.DAP)]
    ddis = [pk for pk, m in meta.items() if m[0] == InstrumentKind.DDI]
    for day in dates:
        di_points, dap_points = [], []
        for pk in curves:
            kind, _ticker, maturity = meta[pk]
            quote = prices.get((pk, day))
            level = None if quote is None else quote[1]
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
    roots = _linear_roots(meta, local)
    dropped = 0
    for i in range(1, len(dates)):
        before, day = dates[i - 1], dates[i]
        if before in blank or day in blank:
            dropped += 1
            continue
        scenario_dates.append(day)
        di_moves.append(_move(di_levels[i], di_levels[i - 1], len(DI_VERTICES)))
        dap_moves.append(_move(dap_levels[i], dap_levels[i - 1], len(DAP_VERTICES)))
        fx_before, fx_now = ptax.get(before), ptax.get(day)
        linear["USDBRL"].append(float(fx_now / fx_before - 1) if fx_before and fx_now else 0.0)
        for factor, members in roots.items():
            linear[factor].append(_front_return(members, meta, prices, before, day))
        linear["CUPOM"].append(_cupom_move(ddis, meta, prices, before, day))
    warnings += _gap_warnings(gaps, dropped, len(scenario_dates))
    if len(scenario_dates) < days:
        warnings.append(
            f"Only {len(scenario_dates)} days of factor history (VaR wants {days}): "
            "figures are computed on what exists."
        )
    return FactorHistory(
        scenario_dates,
        np.array(di_moves).reshape(-1, len(DI_VERTICES)),
        np.array(dap_moves).reshape(-1, len(DAP_VERTICES)),
        {name: np.array(values) for name, values in linear.items()},
        warnings,
        gaps,
    )


ALL_INSTRUMENTS = "all instruments"
_LISTED = 8  # dates (and names per date) a warning spells out before "and N more"


def _gaps(
    dates: list[date],
    priced: set[date],
    ptax: dict[date, Decimal],
    prices: dict[tuple[int, date], tuple[float, float | None]],
    meta: dict[int, tuple[str, str, date | None]],
) -> list[tuple[date, list[str]]]:
    """Business days of the window missing a price: the whole market, PTAX, or instruments
    priced on the business days either side (alive, so not a listing or an expiry)."""
    days_of: dict[int, set[date]] = defaultdict(set)
    for pk, day in prices:
        days_of[pk].add(day)
    gaps = []
    for i, day in enumerate(dates):
        if day not in priced:
            gaps.append((day, [ALL_INSTRUMENTS]))
            continue
        if day not in ptax:
            gaps.append((day, ["PTAX"]))
            continue
        if 0 < i < len(dates) - 1:
            before, after = dates[i - 1], dates[i + 1]
            holes = sorted(
                meta[pk][1]
                for pk, seen in days_of.items()
                if day not in seen and before in seen and after in seen
            )
            if holes:
                gaps.append((day, holes))
    return gaps


def _gap_warnings(gaps: list[tuple[date, list[str]]], dropped: int, kept: int) -> list[str]:
    def listed(items: list[str]) -> str:
        more = len(items) - _LISTED
        return ", ".join(items[:_LISTED]) + (f" and {more} more" if more > 0 else "")

    blank = [
        f"{d:%Y-%m-%d}" + (" (no PTAX)" if n == ["PTAX"] else "")
        for d, n in gaps
        if n[0] in (ALL_INSTRUMENTS, "PTAX")
    ]
    holes = [f"{d:%Y-%m-%d} {listed(n)}" for d, n in gaps if n[0] not in (ALL_INSTRUMENTS, "PTAX")]
    warnings = []
    if blank:
        warnings.append(
            f"No prices on business day(s) {listed(blank)}: the {dropped} daily move(s) touching "
            f"them are left out, not spanned; VaR uses {kept} moves."
        )
    if holes:
        warnings.append(
            f"Prices missing inside the VaR window: {'; '.join(holes[:_LISTED])}"
            + (f"; and {len(holes) - _LISTED} more day(s)" if len(holes) > _LISTED else "")
            + ". Their factors move on the contracts priced on both days of each move."
        )
    return warnings


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


def _linear_roots(
    meta: dict[int, tuple[str, str, date | None]], local: set[int]
) -> dict[str, list[int]]:
    """The instruments behind each linear factor `factor_of` names: a BRL equity moves with
    IBOV, so only a foreign one has a factor of its own (a firm's thousand local stocks would
    otherwise cost a thousand unused series)."""
    roots: dict[str, list[int]] = defaultdict(list)
    for pk, (kind, ticker, _maturity) in meta.items():
        if kind == InstrumentKind.IND:
            roots["IBOV"].append(pk)
        elif kind == InstrumentKind.OFFSHORE_FUTURE:
            roots[f"OFF:{ticker[:-3]}"].append(pk)
        elif kind in (InstrumentKind.EQUITY, InstrumentKind.ETF) and pk not in local:
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
    ddis: list[int],
    meta: dict[int, tuple[str, str, date | None]],
    prices: dict[tuple[int, date], tuple[float, float | None]],
    before: date,
    day: date,
) -> float:
    """Rate change of the DDI contract nearest one year, priced on both days."""
    candidates = []
    for pk in ddis:
        _kind, _ticker, maturity = meta[pk]
        if maturity is None or (pk, day) not in prices or (pk, before) not in prices:
            continue
        now, then = prices[(pk, day)][1], prices[(pk, before)][1]
        if now is not None and then is not None:
            candidates.append((abs((maturity - day).days - 365), now - then))
    return min(candidates)[1] if candidates else 0.0
