"""Test-wide fixtures: the named cast of users, service guards and the browser."""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

import pytest
from django.contrib.auth.models import Group, User

from apps.marketdata.models import Fixing, Instrument, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import Portfolio, Strategy
from apps.positions.services import TradeTicket, record_trade
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DEMO_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_journal_guard() -> Iterator[None]:
    """Transactional tests end with a flush (one TRUNCATE of every table), which the journal's
    trigger refuses on PostgreSQL: teardown flushes with that trigger off (its transaction only)."""
    from apps.journal.guard import flush_past_the_journal_guard

    with flush_past_the_journal_guard():
        yield


def service_missing(reason: str) -> NoReturn:
    """Skip on a newcomer's laptop; in CI a missing service is a failure, never a skip."""
    if IN_CI:
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


def log_in(client: Any, username: str, password: str) -> bool:
    """Log in through the real login view (axes refuses `client.login`, which has no request)."""
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def make_user(username: str, *roles: str, staff: bool = False, **extra: Any) -> User:
    user = User.objects.create_user(
        username=username, password=DEMO_PASSWORD, is_staff=staff, **extra
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def pm_alice(db: None) -> User:
    return make_user("pm_alice", "manager", first_name="Alice", last_name="Manager")


@pytest.fixture
def cio_bob(db: None) -> User:
    return make_user("cio_bob", "approver", first_name="Bob", last_name="CIO")


@pytest.fixture
def bo_carol(db: None) -> User:
    return make_user("bo_carol", "back_office", staff=True, first_name="Carol")


@pytest.fixture
def ops_erin(db: None) -> User:
    return make_user("ops_erin", "ops", staff=True, first_name="Erin")


@pytest.fixture
def viewer_dan(db: None) -> User:
    return make_user("viewer_dan", "viewer", first_name="Dan")


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

    def market_day(self, ticker: str, day: datetime.date, price: str) -> None:
        """What the EOD of `day` needs for a USD future: its settlement, the CDI (13.15 %) and
        the PTAX (5.8000)."""
        self.price(ticker, day, price)
        self.fix("CDI", day, "0.1315")
        self.fix("PTAX_SELL", day, "5.8000")

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


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Empty this worker's cache keys (never FLUSHDB: parallel workers share the Redis)."""
    from django.core.cache import caches

    from apps.ops.local_cache import local

    local.clear()

    for alias in caches:
        cache = caches[alias]
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")
        else:
            cache.clear()
    yield


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (the Playwright browser download is not used)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        service_missing(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page: Any, live_server: Any) -> Any:
    """Log `user` in through the real login form; returns the page."""

    def _login(user: User) -> Any:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return _login
