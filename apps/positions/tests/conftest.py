"""A tiny fund and market for end-to-end book tests."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from apps.marketdata.models import Fixing, Instrument, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import Portfolio, Strategy
from apps.positions.services import TradeTicket, record_trade
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory


class Book:
    """Helpers that read like the worked examples: price, fix, trade, mark."""

    def __init__(self, portfolio: Portfolio, strategy: Strategy, user: Any) -> None:
        self.portfolio, self.strategy, self.user = portfolio, strategy, user

    def price(self, ticker: str, day: datetime.date, price: str, rate: str | None = None) -> None:
        instrument = Instrument.objects.get(ticker=ticker)
        SettlementPrice.objects.create(
            instrument=instrument,
            date=day,
            source="B3",
            price=Decimal(price),
            rate=Decimal(rate) if rate else None,
        )

    def fix(self, index: str, day: datetime.date, value: str) -> None:
        Fixing.objects.create(index=index, date=day, value=Decimal(value))

    def trade(self, ticker: str, side: str, qty: str, day: datetime.date, **kw: Any) -> Any:
        ticket = TradeTicket(
            portfolio=self.portfolio,
            strategy=kw.pop("strategy", self.strategy),
            instrument=Instrument.objects.get(ticker=ticker),
            side=side,
            quantity=Decimal(qty),
            trade_date=day,
            price=Decimal(kw.pop("price")) if "price" in kw else None,
            rate=Decimal(kw.pop("rate")) if "rate" in kw else None,
            fees=Decimal(kw.pop("fees", "0")),
            **kw,
        )
        return record_trade(ticket, by=self.user)


@pytest.fixture
def book_at(db: None, pm_alice: Any) -> Any:
    def _make(inception: datetime.date, *tickers: str) -> Book:
        for ticker in tickers:
            InstrumentFactory(ticker=ticker)
        portfolio = PortfolioFactory(inception_date=inception)
        strategy = StrategyFactory(portfolio=portfolio, code="rates-br", name="Rates BR")
        return Book(portfolio, strategy, pm_alice)

    return _make
