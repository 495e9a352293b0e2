"""The demo market as plain rows: what the generator returns and the store writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from apps.demo.market.catalog import InstrumentSpec


@dataclass(frozen=True)
class DemoPrice:
    ticker: str
    date: date
    price: Decimal
    rate: Decimal | None = None  # decimal fraction, for rate-quoted instruments


@dataclass(frozen=True)
class DemoFixing:
    index: str
    date: date
    value: Decimal


@dataclass
class DemoMarket:
    start: date
    end: date
    seed: int
    dates: list[date] = field(default_factory=list)
    instruments: dict[str, InstrumentSpec] = field(default_factory=dict)
    prices: list[DemoPrice] = field(default_factory=list)
    fixings: list[DemoFixing] = field(default_factory=list)
