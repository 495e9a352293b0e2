"""Market-data benchmarks: CSV price import, DI1 pricing, demo-market seeding."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from scripts.bench import BenchOp, Scale

SEED = 42
CSV_YEARS = 3
CSV_INSTRUMENTS = 60
DI1_PUS = 100_000


def _today() -> date:
    from django.utils import timezone

    return timezone.localdate()


# --- import 3y × 60 instruments of prices ---------------------------------------------------


@lru_cache(maxsize=2)
def _price_csv(scale: Scale) -> Path:
    """A CSV of CSV_YEARS × CSV_INSTRUMENTS daily prices (about 45,000 rows at full scale)."""
    from django.conf import settings

    from apps.demo.market.paths import trading_days
    from apps.marketdata.calendar import previous_business_day

    end = previous_business_day(_today())
    days = trading_days(end - timedelta(days=365 * CSV_YEARS), end)
    rng = random.Random(SEED)
    path = Path(settings.VAR_DIR) / "bench" / f"prices-{scale.name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("date,ticker,price,rate\n")
        for ticker in _tickers(scale):
            level = rng.uniform(10, 200)
            for day in days:
                level *= 1 + rng.gauss(0, 0.015)
                handle.write(f"{day:%Y-%m-%d},{ticker},{level:.2f},\n")
    return path


def _tickers(scale: Scale) -> list[str]:
    return [f"BNCH{i:02d}" for i in range(1, scale.size(CSV_INSTRUMENTS) + 1)]


def _setup_import(scale: Scale) -> Path:
    from apps.marketdata.models import Instrument, SettlementPrice

    SettlementPrice.objects.all().delete()
    for ticker in _tickers(scale):
        Instrument.objects.get_or_create(
            ticker=ticker,
            defaults={"name": f"Bench equity {ticker}", "kind": "EQUITY", "asset_class": "EQUITY"},
        )
    return _price_csv(scale)


def _run_import(path: Path) -> None:
    from apps.marketdata.importers.csv_prices import import_price_csv

    result = import_price_csv(path)
    assert result.created > 0, result.summary()


# --- price 100,000 DI1 PUs ------------------------------------------------------------------


def _setup_di1(scale: Scale) -> list[tuple[Decimal, int]]:
    rng = random.Random(SEED)
    # Rates 8-16 % with 3 decimals in % (the B3 quote), terms from 1 day to 10 years.
    return [
        (Decimal(rng.randrange(8000, 16000)).scaleb(-5), rng.randrange(1, 2521))
        for _ in range(scale.size(DI1_PUS))
    ]


def _run_di1(pairs: list[tuple[Decimal, int]]) -> None:
    from apps.marketdata.pricing import di1_pu

    for rate, du in pairs:
        di1_pu(rate, du)


# --- seed_demo market, 1 year ---------------------------------------------------------------


def _setup_seed(scale: Scale) -> tuple[date, date]:
    from apps.marketdata.calendar import previous_business_day
    from apps.marketdata.models import Fixing, SettlementPrice

    SettlementPrice.objects.filter(source="DEMO").delete()
    Fixing.objects.filter(source="DEMO").delete()
    end = previous_business_day(_today())
    return end - timedelta(days=scale.size(365)), end


def _run_seed(window: tuple[date, date]) -> Any:
    from apps.demo.market import generate_market
    from apps.demo.market.store import store_demo_market

    start, end = window
    return store_demo_market(generate_market(start, end, seed=SEED))


OPERATIONS = [
    BenchOp(
        f"import {CSV_YEARS}y × {CSV_INSTRUMENTS} instruments of prices (CSV)",
        target_ms=3000,
        setup=_setup_import,
        run=_run_import,
        repeats=3,
    ),
    BenchOp(
        f"price {DI1_PUS:,} DI1 PUs", target_ms=1000, setup=_setup_di1, run=_run_di1, repeats=5
    ),
    BenchOp("seed_demo market, 1 year", target_ms=None, setup=_setup_seed, run=_run_seed),
]
