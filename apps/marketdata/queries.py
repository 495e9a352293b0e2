"""Read models over market data: the effective price per instrument and date, curves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from django.db.models import Count, Max

from apps.marketdata import pricing
from apps.marketdata.calendar import business_days
from apps.marketdata.models import (
    SOURCE_PRIORITY,
    Fixing,
    FixingIndex,
    InstrumentKind,
    SettlementPrice,
)

# A price date is *complete* when it holds a settlement of every kind here: the DI1 curve that
# the market page, the MTM's CDI carry and the rate risk all start from. A partial upload for a
# new date (a few bonds, one override) leaves the date incomplete, so it does not become the
# default as-of date until B3's report arrives. The one definition; add a kind to demand more.
COMPLETE_DAY_KINDS: tuple[str, ...] = (InstrumentKind.DI1,)


T = TypeVar("T")


def effective_prices(
    day: date, instrument_ids: Iterable[int] | None = None
) -> dict[int, SettlementPrice]:
    """The price that counts for each instrument on `day` (manual > B3 > ANBIMA > CSV > demo)."""
    rows = SettlementPrice.objects.filter(date=day).select_related("instrument")
    if instrument_ids is not None:
        rows = rows.filter(instrument_id__in=list(instrument_ids))
    return _preferred((row.instrument_id, row.source, row) for row in rows)


def _preferred(rows: Iterable[tuple[int, str, T]]) -> dict[int, T]:
    """Per instrument, the row of the most trusted source (SOURCE_PRIORITY)."""
    rank = {source: i for i, source in enumerate(SOURCE_PRIORITY)}
    best: dict[int, tuple[int, T]] = {}
    for instrument_id, source, row in rows:
        current = best.get(instrument_id)
        if current is None or rank[source] < current[0]:
            best[instrument_id] = (rank[source], row)
    return {pk: row for pk, (_, row) in best.items()}


@dataclass(frozen=True)
class PriceQuote:
    """A settlement's price and rate, without its row (what a valuation reads)."""

    price: Decimal
    rate: Decimal | None


def effective_quotes(day: date, instrument_ids: Iterable[int]) -> dict[int, PriceQuote]:
    """`effective_prices` as bare quotes: one light query, no model instances (the intraday
    estimate reads a few hundred per run)."""
    rows = SettlementPrice.objects.filter(date=day, instrument_id__in=list(instrument_ids))
    return _preferred(
        (pk, source, PriceQuote(price, rate))
        for pk, source, price, rate in rows.values_list("instrument_id", "source", "price", "rate")
    )


def latest_price_date(on_or_before: date | None = None) -> date | None:
    """The most recent date with any settlement price."""
    rows = SettlementPrice.objects.all()
    if on_or_before is not None:
        rows = rows.filter(date__lte=on_or_before)
    return rows.aggregate(latest=Max("date"))["latest"]


def latest_complete_price_date(
    on_or_before: date | None = None, *, before: date | None = None
) -> date | None:
    """The most recent complete date (see COMPLETE_DAY_KINDS), on or before / strictly before."""
    rows = SettlementPrice.objects.filter(instrument__kind__in=COMPLETE_DAY_KINDS)
    if on_or_before is not None:
        rows = rows.filter(date__lte=on_or_before)
    if before is not None:
        rows = rows.filter(date__lt=before)
    complete = (
        rows.values("date")
        .annotate(kinds=Count("instrument__kind", distinct=True))
        .filter(kinds=len(COMPLETE_DAY_KINDS))
        .order_by("-date")
    )
    return complete.values_list("date", flat=True).first()


def previous_price_date(day: date) -> date | None:
    """The latest date with prices strictly before `day`."""
    return SettlementPrice.objects.filter(date__lt=day).aggregate(latest=Max("date"))["latest"]


def fixing_on(index: str, day: date) -> Decimal | None:
    """The fixing of `index` on `day`, or None."""
    return Fixing.objects.filter(index=index, date=day).values_list("value", flat=True).first()


def latest_fixing(index: str, on_or_before: date) -> Fixing | None:
    """The latest fixing of `index` on or before a date (today's may not be published yet)."""
    return Fixing.objects.filter(index=index, date__lte=on_or_before).order_by("-date").first()


def latest_fixings(on_or_before: date) -> dict[str, Fixing]:
    """The latest fixing of every index on or before a date."""
    result: dict[str, Fixing] = {}
    for index in FixingIndex.values:
        row = latest_fixing(index, on_or_before)
        if row is not None:
            result[index] = row
    return result


def ipca_pro_rata_on(day: date) -> Decimal | None:
    """The IPCA pro-rata index of `day` (B3's DAP correction), or None without its base index.

    P_t = I_{m−1} · (1 + π_m)^(dut/dum) between the 15th of month m and the next (see
    `pricing.ipca_pro_rata_index`): I_{m−1} the index of the month before (released by IBGE
    around the 10th of m), π_m the month's projection (IPCA_PROJECTION), else the last
    released monthly IPCA (I_{m−1}'s own change) — the rule docs/MARKET_DATA.md states.
    """
    start, end = pricing.ipca_period(day)
    base_month = (start.replace(day=1) - timedelta(days=1)).replace(day=1)
    base = fixing_on(FixingIndex.IPCA_INDEX, base_month)
    if base is None:
        return None
    projection = fixing_on(FixingIndex.IPCA_PROJECTION, start.replace(day=1))
    if projection is None:
        projection = fixing_on(FixingIndex.IPCA_MONTHLY, base_month) or Decimal(0)
    return pricing.ipca_pro_rata_index(
        base, projection, business_days(start, day), business_days(start, end)
    )
