"""Test-wide fixtures: the named cast of users, service guards and the browser. The helpers
they use, which tests import too, are in tests/support.py."""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User

from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from tests.support import CHROMIUM, DEMO_PASSWORD, Book, BookAt, make_user, service_missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_journal_guard() -> Iterator[None]:
    """Transactional tests end with a flush (one TRUNCATE of every table), which the journal's
    trigger refuses on PostgreSQL: teardown flushes with that trigger off (its transaction only)."""
    from apps.journal.guard import flush_past_the_journal_guard

    with flush_past_the_journal_guard():
        yield


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


@pytest.fixture
def book_at(db: None, pm_alice: User) -> BookAt:
    def _make(inception: datetime.date, *tickers: str) -> Book:
        for ticker in tickers:
            InstrumentFactory.create(ticker=ticker)
        portfolio = PortfolioFactory.create(inception_date=inception)
        strategy = StrategyFactory.create(portfolio=portfolio, code="rates-br", name="Rates BR")
        return Book(portfolio, strategy, pm_alice)

    return _make


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Empty this worker's cache keys (never FLUSHDB: parallel workers share the Redis)."""
    from django.core.cache import caches

    from apps.core.local_cache import local

    local.clear()

    for alias in caches:
        cache = caches[alias]
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")
        else:
            cache.clear()
    yield


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
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
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page: Page, live_server: LiveServer) -> Callable[[User], Page]:
    """Log `user` in through the real login form; returns the page."""

    def _login(user: User) -> Page:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return _login
