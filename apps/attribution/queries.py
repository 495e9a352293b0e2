"""The attribution read model: returns, statistics and contributions for a period.

Reads are bulk: the NAV days (one query), the CDI fixings (one), and every mark of the period
aggregated per position in the database with the Cariño weights applied in SQL (one), then
rolled up to strategy, asset class and instrument in Python — a few hundred rows, whatever
the number of days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Max, Min

from apps.attribution import calculations as calc
from apps.core.cache import Cached, breaker, read, warmer
from apps.marketdata.calendar import previous_business_day
from apps.marketdata.models import Fixing, FixingIndex
from apps.marketdata.pricing import cdi_daily_factor
from apps.positions.models import NavRecord, Portfolio, Position
from apps.positions.queries import weighted_mark_sums

PERIODS = {
    "mtd": "Month to date",
    "qtd": "Quarter to date",
    "ytd": "Year to date",
    "12m": "Last 12 months",
    "itd": "Since inception",
    "custom": "Custom range",
}
CASH_GROUP = "Cash (CDI on cash)"
SOURCES = ("price", "carry", "fx", "fees")
ZERO = Decimal("0")


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.key == "custom":
            return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"
        return PERIODS[self.key]


def marked_range(portfolio: Portfolio) -> tuple[date | None, date | None]:
    row = NavRecord.objects.filter(portfolio=portfolio).aggregate(a=Min("date"), b=Max("date"))
    return row["a"], row["b"]


def resolve_period(
    portfolio: Portfolio,
    key: str,
    *,
    start: date | None = None,
    end: date | None = None,
    asof: date | None = None,
) -> Period:
    """A named or custom period, checked against the fund's marked history."""
    first, last = marked_range(portfolio)
    if first is None or last is None:
        raise ValidationError(f"{portfolio} has no marked days yet: run the MTM first.")
    if key not in PERIODS:
        raise ValidationError(f"Unknown period {key!r}; use one of {', '.join(PERIODS)}.")
    end = min(end or asof or last, last)
    if key == "custom":
        if start is None:
            raise ValidationError("A custom period needs a start date.")
        if end < start:
            raise ValidationError(
                f"The range is reversed: {start:%Y-%m-%d} is after {end:%Y-%m-%d}."
            )
        if start < portfolio.inception_date:
            raise ValidationError(
                f"{start:%Y-%m-%d} is before the fund's inception "
                f"({portfolio.inception_date:%Y-%m-%d})."
            )
        return Period(key, start, end)
    starts = {
        "mtd": end.replace(day=1),
        "qtd": date(end.year, 3 * ((end.month - 1) // 3) + 1, 1),
        "ytd": date(end.year, 1, 1),
        "12m": end - timedelta(days=365) + timedelta(days=1),
        "itd": first,
    }
    return Period(key, max(starts[key], first), end)


@dataclass
class Group:
    name: str
    pnl: Decimal = ZERO
    contribution: float = 0.0  # linked, fraction of NAV
    sources: dict[str, Decimal] = field(default_factory=dict)
    linked_sources: dict[str, float] = field(default_factory=dict)
    children: list[Group] = field(default_factory=list)


@dataclass
class Attribution:
    portfolio: Portfolio
    period: Period
    days: list[calc.Day]
    twr: float
    cdi: float
    pct_cdi: float | None
    excess: float
    dietz: float
    irr: float
    stats: calc.Statistics
    na_reason: str | None  # why the estimates read "n/a" (too few returns), else None
    total_pnl: Decimal
    by_strategy: list[Group]
    by_asset_class: list[Group]
    by_instrument: list[Group]
    by_source: list[Group]
    cumulative: list[float]
    cumulative_cdi: list[float]
    drawdown: list[float]
    monthly: dict[int, dict[int, tuple[float, float]]]

    @property
    def annualised(self) -> float | None:
        n = len(self.days)
        if self.na_reason is not None or not n:
            return None
        return (1 + self.twr) ** (252 / n) - 1


def _days(portfolio: Portfolio, period: Period) -> list[calc.Day]:
    navs = list(
        NavRecord.objects.filter(portfolio=portfolio, date__range=(period.start, period.end))
        .order_by("date")
        .values_list("date", "nav_open", "nav_close", "flows_brl")
    )
    if not navs:
        raise ValidationError(
            f"No marked days between {period.start:%Y-%m-%d} and {period.end:%Y-%m-%d}."
        )
    first_nav = NavRecord.objects.filter(portfolio=portfolio).aggregate(d=Min("date"))["d"]
    wanted = [previous_business_day(d) for d, *_ in navs]
    cdi = dict(
        Fixing.objects.filter(index=FixingIndex.CDI, date__in=wanted).values_list("date", "value")
    )
    days = []
    for (day, nav_open, nav_close, flows), prev in zip(navs, wanted, strict=True):
        # The fund's first day accrues nothing (its cash arrives that day).
        factor = Decimal(1) if day == first_nav or prev not in cdi else cdi_daily_factor(cdi[prev])
        days.append(calc.Day(day, nav_open, nav_close, flows, factor))
    return days


# Each source of P&L as the marks' columns give it (see `weighted_mark_sums`).
MARK_SOURCES = {
    "pnl": ("pnl_brl", "fees_brl"),
    "price": ("pnl_price_brl", "-pnl_carry_brl"),
    "carry": ("pnl_carry_brl",),
    "fx": ("pnl_fx_brl",),
    "fees": ("fees_brl",),
}


def _position_totals(
    portfolio: Any, days: list[calc.Day], weights: dict[date, float]
) -> list[dict[str, Any]]:
    """Per position: BRL P&L by source and the Cariño-linked contribution (one query, asked of
    the app that owns the marks)."""
    fetched = weighted_mark_sums(portfolio.pk, weights, MARK_SOURCES)
    names = {
        pk: (strategy, asset_class, ticker)
        for pk, strategy, asset_class, ticker in Position.objects.filter(
            pk__in=[r[0] for r in fetched]
        ).values_list("pk", "strategy__name", "instrument__asset_class", "instrument__ticker")
    }
    keys = ["pnl", "price", "carry", "fx", "fees"]
    out = []
    for position_id, *values in fetched:
        strategy, asset_class, ticker = names[position_id]
        item: dict[str, Any] = {
            "position_id": position_id,
            "position__strategy__name": strategy,
            "position__instrument__asset_class": asset_class,
            "position__instrument__ticker": ticker,
        }
        item |= {k: _cents(v) for k, v in zip(keys, values[:5], strict=True)}
        item["linked"] = float(values[5] or 0.0)
        item |= {f"linked_{k}": float(v or 0.0) for k, v in zip(keys[1:], values[6:], strict=True)}
        out.append(item)
    return out


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _carino_weights(days: list[calc.Day]) -> dict[date, float]:
    total = calc.twr(days)
    big_k = math.log1p(total) / total if total else 1.0
    out = {}
    for d in days:
        r = d.ret
        k = math.log1p(r) / r if r else 1.0
        out[d.date] = k / big_k / float(d.nav_open) if d.nav_open else 0.0
    return out


def _roll_up(rows: list[dict[str, Any]], key: str) -> list[Group]:
    groups: dict[str, Group] = {}
    for row in rows:
        group = groups.setdefault(row[key], Group(row[key], sources={}))
        group.pnl += row["pnl"]
        group.contribution += row["linked"]
        for source in SOURCES:
            group.sources[source] = group.sources.get(source, ZERO) + row[source]
            linked = group.linked_sources.get(source, 0.0) + row[f"linked_{source}"]
            group.linked_sources[source] = linked
    return sorted(groups.values(), key=lambda g: g.pnl, reverse=True)


def build_attribution(portfolio: Portfolio, period: Period) -> Attribution:
    """Everything the attribution page, API and morning pack show for one period."""
    days = _days(portfolio, period)
    weights = _carino_weights(days)
    rows = _position_totals(portfolio, days, weights)
    interest = list(
        NavRecord.objects.filter(portfolio=portfolio, date__range=(days[0].date, days[-1].date))
        .order_by("date")
        .values_list("date", "cash_interest_brl")
    )
    cash = Group(
        CASH_GROUP,
        pnl=sum((i for _, i in interest), ZERO),
        contribution=sum(weights[d] * float(i) for d, i in interest),
        sources={"carry": sum((i for _, i in interest), ZERO)},
    )
    by_strategy = _roll_up(rows, "position__strategy__name")
    for group in by_strategy:
        own = [r for r in rows if r["position__strategy__name"] == group.name]
        group.children = _roll_up(own, "position__instrument__ticker")
    by_instrument = _roll_up(rows, "position__instrument__ticker")
    by_asset = _roll_up(rows, "position__instrument__asset_class")
    total_pnl = sum((g.pnl for g in by_strategy), ZERO) + cash.pnl
    sources = _sources(by_strategy, cash)
    twr, cdi = calc.twr(days), calc.cdi_return(days)
    minimum = settings.STATS_MIN_RETURNS
    na_reason = calc.too_few_returns(len(days), minimum)
    cdi_days = [calc.Day(d.date, Decimal(1), d.cdi_factor, ZERO, d.cdi_factor) for d in days]
    return Attribution(
        portfolio=portfolio,
        period=period,
        days=days,
        twr=twr,
        cdi=cdi,
        pct_cdi=twr / cdi if cdi > 0 and na_reason is None else None,
        excess=twr - cdi,
        dietz=calc.modified_dietz(days),
        irr=calc.irr(days),
        stats=calc.statistics(days, min_returns=minimum),
        na_reason=na_reason,
        total_pnl=total_pnl,
        by_strategy=[*by_strategy, cash],
        by_asset_class=[*by_asset, cash],
        by_instrument=[*by_instrument, cash],
        by_source=sources,
        cumulative=calc.cumulative(days),
        cumulative_cdi=calc.cumulative(cdi_days),
        drawdown=calc.drawdown_series(days),
        monthly=calc.monthly_grid(days),
    )


# --- the cached read: rm:attribution:<portfolio>:m<market v>:p<portfolio v>:<period> ----------


def cached_attribution(portfolio: Portfolio, period: Period) -> Cached:
    """`build_attribution` cache-first for a named period running to the latest marked day;
    custom ranges, periods ending earlier (history) and reads inside a transaction bypass it."""
    return read(
        "attribution",
        portfolio.pk,
        lambda: build_attribution(portfolio, period),
        # The n/a threshold is part of the key: a changed setting must not serve old figures.
        params=f"{period.key}|{period.start.isoformat()}|{period.end.isoformat()}"
        f"|n{settings.STATS_MIN_RETURNS}",
        bypass=connection.in_atomic_block or is_history(portfolio, period),
    )


def is_history(portfolio: Portfolio, period: Period) -> bool:
    """Custom ranges and periods ending before the latest marked day."""
    return period.key == "custom" or period.end < (marked_range(portfolio)[1] or period.end)


@warmer("attribution")
def warm_attribution(portfolio: Portfolio) -> None:
    """Year to date (the page's default period) into the cache."""
    if breaker.is_open:
        return
    try:
        period = resolve_period(portfolio, "ytd")
    except ValidationError:  # no marked day yet: nothing to attribute
        return
    cached_attribution(portfolio, period)


def _sources(groups: list[Group], cash: Group) -> list[Group]:
    labels = {
        "price": "Price (curve and market moves)",
        "carry": "Carry (CDI accrual on rate futures)",
        "fx": "FX",
        "fees": "Fees",
    }
    out = []
    for key, label in labels.items():
        pnl = sum((g.sources.get(key, ZERO) for g in groups), ZERO)
        linked = sum(g.linked_sources.get(key, 0.0) for g in groups)
        out.append(Group(label, pnl=pnl, contribution=linked))
    out.append(Group(CASH_GROUP, pnl=cash.pnl, contribution=cash.contribution))
    return out
