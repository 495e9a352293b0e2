"""Shared test helpers (the fixtures that use them are in conftest.py): the demo password,
logging in, making users, skipping a missing service, and the worked-example `Book`."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NoReturn

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from apps.marketdata.models import Fixing, Instrument, SettlementPrice
from apps.positions.models import FundAccess, Portfolio, Strategy, Trade
from apps.positions.services import TradeTicket, record_trade

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DEMO_PASSWORD = "correct-horse-battery-staple"


def service_missing(reason: str) -> NoReturn:
    """Skip on a newcomer's laptop; in CI a missing service is a failure, never a skip."""
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


def log_in(client: Client, username: str, password: str) -> bool:
    """Log in through the real login view (axes refuses `client.login`, which has no request)."""
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def make_user(
    username: str,
    *roles: str,
    staff: bool = False,
    funds: str | Sequence[Portfolio] = "all",
    **extra: Any,
) -> User:
    """A user in `roles`, granted `funds`: "all" (every fund, the default of the tests that
    predate per-fund access), a list of portfolios, or () for none."""
    user = User.objects.create_user(
        username=username, password=DEMO_PASSWORD, is_staff=staff, **extra
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    if isinstance(funds, str):
        if funds != "all":
            raise ValueError(f'funds is "all" or a list of portfolios, not {funds!r}')
        FundAccess.objects.create(user=user, all_funds=True)
    else:
        for portfolio in funds:
            FundAccess.objects.create(user=user, portfolio=portfolio)
    return user


class Book:
    """Helpers that read like the worked examples: price, fix, trade, mark."""

    def __init__(self, portfolio: Portfolio, strategy: Strategy, user: User) -> None:
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

    def market_day(self, ticker: str, day: datetime.date, price: str) -> None:
        """What the EOD of `day` needs for a USD future: its settlement, the CDI (13.15 %) and
        the PTAX (5.8000)."""
        self.price(ticker, day, price)
        self.fix("CDI", day, "0.1315")
        self.fix("PTAX_SELL", day, "5.8000")

    def trade(self, ticker: str, side: str, qty: str, day: datetime.date, **kw: Any) -> Trade:
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


# The `book_at` fixture: a fund from an inception date, holding instruments by ticker.
BookAt = Callable[..., Book]
