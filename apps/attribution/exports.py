"""The attribution's tables as the page, the CSV downloads and the API all show them.

CSV conventions: a header row, one row per line item and a last `Total` row that is the sum of
the rows above it; plain numbers with a '.' decimal point and no thousands separators; BRL to
the cent, contributions in basis points (2 decimals), returns in percent (6 decimals). The
`summary` table (the headline figures, no total) writes `n/a` and the reason in its `note`
column for an estimate over too few returns.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse

from apps.attribution import calculations as calc
from apps.attribution.queries import CASH_GROUP, SOURCES, Attribution, Group, Period, _days
from apps.marketdata.models import AssetClass
from apps.positions.models import Portfolio

GROUPINGS = ("strategy", "asset_class", "instrument", "source")
TABLES = (*GROUPINGS, "monthly", "daily", "summary")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The columns a P&L splits into (price excludes the carry; the cash line is CDI on cash).
SOURCE_COLUMNS = (*SOURCES, "cash")
ZERO = Decimal("0")

Grid = dict[int, dict[int, tuple[float, float]]]


@dataclass(frozen=True)
class Cell:
    fund: float
    cdi: float

    @property
    def pct_cdi(self) -> float | None:
        """The fund's return as a share of the CDI's (None when the CDI did not accrue)."""
        return self.fund / self.cdi if self.cdi > 0 else None


@dataclass(frozen=True)
class YearRow:
    year: int
    months: list[Cell | None]  # January to December
    total: Cell


def groups(result: Attribution, by: str) -> list[Group]:
    """One table's line items; asset classes by their label (`RATES` reads "Rates BR")."""
    if by == "asset_class":
        labels = dict(AssetClass.choices)
        return [
            dataclasses.replace(g, name=labels.get(g.name, g.name)) for g in result.by_asset_class
        ]
    return {
        "strategy": result.by_strategy,
        "instrument": result.by_instrument,
        "source": result.by_source,
    }[by]


def total(items: Sequence[Group]) -> Group:
    """The sum of the line items: BRL exactly, contributions (linked) to the period's TWR."""
    return Group(
        "Total",
        pnl=sum((g.pnl for g in items), ZERO),
        contribution=sum(g.contribution for g in items),
        sources={c: sum((split(g)[c] for g in items), ZERO) for c in SOURCE_COLUMNS},
    )


def split(group: Group) -> dict[str, Decimal]:
    """A group's P&L by source; the cash line is all CDI on cash (not rate-futures carry)."""
    if group.name == CASH_GROUP:
        return {**dict.fromkeys(SOURCES, ZERO), "cash": group.pnl}
    return {**{s: group.sources.get(s, ZERO) for s in SOURCES}, "cash": ZERO}


def monthly_history(portfolio: Portfolio) -> list[YearRow]:
    """The factsheet grid over the fund's whole history (reads the NAV days only)."""
    try:
        days = _days(portfolio, Period("itd", portfolio.inception_date, date.max))
    except ValidationError:  # no marks at all: an empty grid (the page says why elsewhere)
        return []
    return year_rows(calc.monthly_grid(days))


def year_rows(grid: Grid) -> list[YearRow]:
    """{year: {month: (fund, cdi)}} as rows, most recent year first."""
    rows = []
    for year, months in sorted(grid.items(), reverse=True):
        cells = [Cell(*months[m]) if m in months else None for m in range(1, 13)]
        rows.append(YearRow(year, cells, Cell(*months[13])))
    return rows


# --- CSV ------------------------------------------------------------------------------------


def csv_response(
    table: str,
    *,
    portfolio: Portfolio,
    result: Attribution | None = None,
    history: list[YearRow] | None = None,
) -> HttpResponse:
    """One table as a CSV download named after the fund, the table and the dates it covers."""
    if table == "monthly":
        history = history or []
        years = [r.year for r in history]
        span = f"{min(years)}_{max(years)}" if years else "none"
        rows: Iterable[list[str]] = monthly_csv(history)
    else:
        assert result is not None
        span = f"{result.period.start:%Y-%m-%d}_{result.period.end:%Y-%m-%d}"
        if table == "daily":
            rows = daily_csv(result)
        elif table == "summary":
            rows = summary_csv(result)
        else:
            rows = groups_csv(groups(result, table), table)
    name = f"attribution_{portfolio.code}_{table}_{span}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerows(rows)
    return response


def groups_csv(items: Sequence[Group], by: str) -> list[list[str]]:
    header = [by, "pnl_brl", "contribution_bp"]
    with_sources = by in ("strategy", "instrument", "asset_class")
    if with_sources:
        header += [f"{c}_brl" for c in SOURCE_COLUMNS]
    summed = total(items)
    rows = [header]
    for g, parts in [*((g, split(g)) for g in items), (summed, summed.sources)]:
        row = [g.name, money(g.pnl), number(g.contribution * 10000, 2)]
        if with_sources:
            row += [money(parts[c]) for c in SOURCE_COLUMNS]
        rows.append(row)
    return rows


def monthly_csv(history: list[YearRow]) -> list[list[str]]:
    rows = [["year", "month", "fund_return_pct", "cdi_return_pct", "pct_of_cdi"]]
    for year in sorted(history, key=lambda r: r.year):
        cells = [(str(m), c) for m, c in enumerate(year.months, start=1) if c is not None]
        for month, cell in [*cells, ("year", year.total)]:
            rows.append(
                [
                    str(year.year),
                    month,
                    number(cell.fund * 100, 6),
                    number(cell.cdi * 100, 6),
                    number(None if cell.pct_cdi is None else cell.pct_cdi * 100, 2),
                ]
            )
    return rows


def daily_csv(result: Attribution) -> list[list[str]]:
    header = [
        "date",
        "nav_open_brl",
        "flows_brl",
        "nav_close_brl",
        "return_pct",
        "cdi_return_pct",
        "cumulative_pct",
        "cumulative_cdi_pct",
        "drawdown_pct",
    ]
    rows = [header]
    for i, d in enumerate(result.days):
        rows.append(
            [
                d.date.isoformat(),
                money(d.nav_open),
                money(d.flows),
                money(d.nav_close),
                number(d.ret * 100, 6),
                number((float(d.cdi_factor) - 1) * 100, 6),
                number(result.cumulative[i] * 100, 6),
                number(result.cumulative_cdi[i] * 100, 6),
                number(result.drawdown[i] * 100, 6),
            ]
        )
    return rows


def summary_csv(result: Attribution) -> list[list[str]]:
    """The headline figures, one per row; an estimate over too few returns reads `n/a`."""
    s, na = result.stats, result.na_reason

    def estimate(value: float | None, scale: int, places: int) -> list[str]:
        if na is not None:
            return ["n/a", na]
        return [number(None if value is None else value * scale, places), ""]

    def fact(value: float | None, scale: int, places: int) -> list[str]:
        return [number(None if value is None else value * scale, places), ""]

    rows = [
        ["metric", "value", "note"],
        ["days", str(len(result.days)), ""],
        ["twr_pct", *fact(result.twr, 100, 6)],
        ["cdi_pct", *fact(result.cdi, 100, 6)],
        ["pct_of_cdi", *estimate(result.pct_cdi, 100, 2)],
        ["excess_bp", *fact(result.excess, 10000, 2)],
        ["modified_dietz_pct", *fact(result.dietz, 100, 6)],
        ["irr_pct", *fact(finite(result.irr), 100, 6)],
        ["annualised_return_pct", *estimate(result.annualised, 100, 6)],
        ["volatility_pct", *estimate(s.volatility, 100, 6)],
        ["sharpe", *estimate(s.sharpe, 1, 4)],
        ["sortino", *estimate(s.sortino, 1, 4)],
        ["max_drawdown_pct", *fact(s.max_drawdown, 100, 6)],
        ["hit_rate_pct", *fact(s.hit_rate, 100, 2)],
        ["total_pnl_brl", money(result.total_pnl), ""],
    ]
    return rows


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def number(value: float | None, places: int) -> str:
    """A plain decimal string; empty for a missing or non-finite value, never "-0.00"."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def finite(value: Any) -> float | None:
    """None for NaN/inf (an IRR that did not converge), else the float."""
    return float(value) if value is not None and math.isfinite(value) else None
