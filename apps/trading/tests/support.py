"""The trading tests' desk: the book pages' fund (NAV R$ 100 mi, marked to 04/02/2025) plus
DI1F29, priced, for the issue's fat-finger ticket."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.marketdata.models import Instrument
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import DailyMark, Position, Trade
from apps.positions.tests.test_book_page import D2, D3, new_fund
from apps.risk.models import Limit, Metric, Scope

D = Decimal
TODAY = D3  # the fund's last marked day; trades are dated then
HUGE = "99999999999"


def make_desk(book_at: Any) -> Any:
    book = new_fund(book_at)
    InstrumentFactory.create(ticker="DI1F29")
    book.price("DI1F29", D2, "69950.00", "0.14520")
    book.price("DI1F29", D3, "70010.00", "0.14500")
    return book


def ticket(book: Any, ticker: str = "PETR4", **overrides: Any) -> dict[str, Any]:
    """The trade page's fields (the admin's take the same, with ids)."""
    data = {
        "portfolio": book.portfolio.pk,
        "strategy": book.strategy.pk,
        "instrument": Instrument.objects.get(ticker=ticker).pk,
        "side": "BUY",
        "quantity": "100",
        "price": "37.90",
        "rate": "",
        "trade_date": TODAY.isoformat(),
        "fees": "0",
        "broker": "",
        "notes": "",
    }
    return {**data, **overrides}


def api_ticket(book: Any, ticker: str = "PETR4", **overrides: Any) -> dict[str, Any]:
    data = {
        "portfolio": book.portfolio.code,
        "strategy": book.strategy.code,
        "instrument": Instrument.objects.get(ticker=ticker).pk,
        "side": "BUY",
        "quantity": "100",
        "price": "37.90",
        "trade_date": TODAY.isoformat(),
    }
    return {**data, **overrides}


def admin_ticket(book: Any, ticker: str = "PETR4", **overrides: Any) -> dict[str, Any]:
    data = ticket(book, ticker, **overrides)
    data["settlement_date"] = ""
    data.pop("notes")
    return {**data, "notes": ""}


def ledger_state(book: Any) -> tuple[Any, ...]:
    """Trades, positions and marks: what a refused ticket must leave as it was."""
    marks = DailyMark.objects.filter(portfolio=book.portfolio).order_by("date", "position_id")
    return (
        list(Trade.objects.order_by("pk").values_list("pk", flat=True)),
        list(Position.objects.order_by("pk").values_list("pk", "quantity")),
        list(marks.values_list("position_id", "date", "quantity", "pnl_brl")),
    )


def entries(kind: str) -> list[Entry]:
    return list(Entry.objects.filter(kind=kind).order_by("seq"))


def refusals() -> list[Entry]:
    return entries(EntryKind.TRADE_REFUSED)


def gross_limit(book: Any, warning: str, hard: str) -> Limit:
    return Limit.objects.create(
        portfolio=book.portfolio,
        metric=Metric.GROSS,
        scope=Scope.PORTFOLIO,
        warning_level=D(warning),
        hard_level=D(hard),
    )


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client
