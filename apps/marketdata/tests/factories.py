"""factory_boy factories for market data. Defaults are real B3 contracts and plausible prices."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import factory

from apps.marketdata.contracts import MONTH_CODES, parse_ticker
from apps.marketdata.models import Fixing, FixingIndex, Instrument, PriceSource, SettlementPrice


def _spec(instrument: Any) -> Any:
    return parse_ticker(instrument.ticker)


class InstrumentFactory(factory.django.DjangoModelFactory[Instrument]):
    """A B3 future by default (`InstrumentFactory(ticker="WDOH25")`); fields follow the code."""

    class Meta:
        model = Instrument
        django_get_or_create = ("ticker",)

    # DI1F26, DI1G26, … one new contract month per instance.
    ticker = factory.Sequence(lambda n: f"DI1{MONTH_CODES[n % 12]}{26 + n // 12:02d}")
    name = factory.LazyAttribute(lambda o: _spec(o).name)
    kind = factory.LazyAttribute(lambda o: _spec(o).kind)
    asset_class = factory.LazyAttribute(lambda o: _spec(o).asset_class)
    currency = factory.LazyAttribute(lambda o: _spec(o).currency)
    multiplier = factory.LazyAttribute(lambda o: _spec(o).multiplier)
    maturity = factory.LazyAttribute(lambda o: _spec(o).maturity)
    quote_convention = factory.LazyAttribute(lambda o: _spec(o).quote_convention)
    underlying = factory.LazyAttribute(lambda o: _spec(o).underlying)

    class Params:
        # InstrumentFactory(equity=True, ticker="PETR4") for something parse_ticker doesn't know.
        equity = factory.Trait(
            name=factory.LazyAttribute(lambda o: o.ticker),
            kind="EQUITY",
            asset_class="EQUITY",
            currency="BRL",
            multiplier=Decimal("1"),
            maturity=None,
            quote_convention="PRICE",
            underlying="",
        )


class SettlementPriceFactory(factory.django.DjangoModelFactory[SettlementPrice]):
    """DI1F26's B3 settlement of 2025-02-03 by default."""

    class Meta:
        model = SettlementPrice

    instrument = factory.SubFactory(InstrumentFactory, ticker="DI1F26")
    date = datetime.date(2025, 2, 3)
    source = PriceSource.B3
    price = Decimal("88093.23")
    rate = Decimal("0.14901")


class FixingFactory(factory.django.DjangoModelFactory[Fixing]):
    """CDI 13.15 % on 2025-01-31 by default."""

    class Meta:
        model = Fixing
        django_get_or_create = ("index", "date")

    index = FixingIndex.CDI
    date = datetime.date(2025, 1, 31)
    value = Decimal("0.1315")
    source = "BCB"
