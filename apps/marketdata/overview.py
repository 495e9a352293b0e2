"""The market overview read model: one day's settlements against the previous day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from apps.marketdata.models import Fixing, FixingIndex, InstrumentKind, SettlementPrice
from apps.marketdata.queries import (
    effective_prices,
    latest_complete_price_date,
    latest_fixings,
    previous_price_date,
)

KIND_ORDER = [k.value for k in InstrumentKind]


@dataclass
class Row:
    ticker: str
    kind: str
    maturity: date | None
    price: Decimal
    rate: Decimal | None
    change_price: Decimal | None
    change_rate_bps: Decimal | None
    source: str


@dataclass
class Overview:
    day: date
    previous_day: date | None
    groups: list[tuple[str, list[Row]]]
    fixings: dict[str, Fixing | None]
    curve: dict[str, list[Any]] = field(default_factory=dict)


OVERVIEW_FIXINGS = (
    FixingIndex.CDI,
    FixingIndex.SELIC_TARGET,
    FixingIndex.PTAX_SELL,
    FixingIndex.IPCA_MONTHLY,
    FixingIndex.VNA_NTNB,
    FixingIndex.VNA_LFT,
)


def build_overview(day: date) -> Overview:
    """Settlements on `day` with changes against the previous complete day, and the DI1 curve."""
    previous_day = latest_complete_price_date(before=day) or previous_price_date(day)
    today = effective_prices(day)
    before = effective_prices(previous_day) if previous_day else {}
    rows = [_row(price, before.get(instrument_id)) for instrument_id, price in today.items()]
    rows.sort(key=lambda r: (KIND_ORDER.index(r.kind), r.maturity or date.min, r.ticker))
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(InstrumentKind(row.kind).label, []).append(row)
    known = latest_fixings(day)
    fixings: dict[str, Fixing | None] = {str(key): known.get(key) for key in OVERVIEW_FIXINGS}
    return Overview(day, previous_day, list(groups.items()), fixings, _curve(rows, before))


def _row(price: SettlementPrice, prior: SettlementPrice | None) -> Row:
    """One settlement with its change against the prior day's (None without one)."""
    rate_change = None
    if price.rate is not None and prior is not None and prior.rate is not None:
        rate_change = (price.rate - prior.rate) * 10000
    return Row(
        ticker=price.instrument.ticker,
        kind=price.instrument.kind,
        maturity=price.instrument.maturity,
        price=price.price,
        rate=price.rate,
        change_price=(price.price - prior.price) if prior else None,
        change_rate_bps=rate_change,
        source=price.source,
    )


def _curve(rows: list[Row], before: dict[int, SettlementPrice]) -> dict[str, list[Any]]:
    """The DI1 curve in % by contract, today's and the previous day's (None where missing)."""
    curve_today = [r for r in rows if r.kind == InstrumentKind.DI1 and r.rate is not None]
    curve_before = {
        p.instrument.ticker: p.rate
        for p in before.values()
        if p.instrument.kind == InstrumentKind.DI1 and p.rate is not None
    }
    return {
        "labels": [r.ticker for r in curve_today],
        "today": [float(r.rate * 100) for r in curve_today if r.rate is not None],
        "previous": [
            float(curve_before[r.ticker] * 100) if r.ticker in curve_before else None
            for r in curve_today
        ],
    }
