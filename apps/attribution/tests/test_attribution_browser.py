"""The manager reads a fund's attribution, switches the period and drills into a strategy."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.marketdata import pricing
from apps.marketdata.calendar import business_days, business_days_between
from apps.marketdata.models import Instrument
from apps.positions.mtm import catch_up
from apps.positions.services import record_flow
from apps.positions.tests.factories import StrategyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
START, END = date(2025, 1, 2), date(2025, 2, 28)


def two_month_fund(book_at: Any, user: Any) -> Any:
    """Six futures in three strategies, marked by the engine over ~40 generated business days."""
    days = business_days_between(START, END)
    book = book_at(START, "DI1F26", "DI1N26", "DI1F27", "WDOJ25", "DOLJ25", "INDJ25")
    fx = StrategyFactory.create(portfolio=book.portfolio, code="fx", name="FX tactical")
    equities = StrategyFactory.create(portfolio=book.portfolio, code="equities", name="Equities BR")
    rng = random.Random(11)
    rates = {"DI1F26": 0.1490, "DI1N26": 0.1505, "DI1F27": 0.1520}
    prices = {"WDOJ25": 6150.0, "INDJ25": 122000.0}
    quotes: dict[tuple[str, date], str] = {}
    for day in days:
        shock = rng.gauss(-0.0002, 0.0007)
        for ticker in rates:
            rates[ticker] = round(rates[ticker] + shock + rng.gauss(0, 0.0002), 5)
            maturity = Instrument.objects.get(ticker=ticker).maturity
            assert maturity is not None
            pu = pricing.di1_pu(Decimal(str(rates[ticker])), business_days(day, maturity))
            book.price(ticker, day, str(pu), str(rates[ticker]))
            quotes[(ticker, day)] = str(pu)
        prices["WDOJ25"] = round(prices["WDOJ25"] * (1 + rng.gauss(-0.0008, 0.006)) * 2) / 2
        prices["INDJ25"] = round(prices["INDJ25"] * (1 + rng.gauss(0.0012, 0.011)) / 5) * 5
        for ticker, price in (*prices.items(), ("DOLJ25", prices["WDOJ25"])):
            book.price(ticker, day, f"{price:.2f}")
            quotes[(ticker, day)] = f"{price:.2f}"
        book.fix("CDI", day, "0.1215" if day.month == 1 else "0.1315")
    d0, d10, d15 = days[0], days[10], days[15]
    book.trade("DI1F26", "BUY", "2000", d0, price=quotes[("DI1F26", d0)], fees="400")
    book.trade("DI1F27", "SELL", "1500", d0, price=quotes[("DI1F27", d0)], fees="300")
    book.trade("WDOJ25", "SELL", "400", d0, price=quotes[("WDOJ25", d0)], fees="200", strategy=fx)
    book.trade("INDJ25", "BUY", "300", d0, price=quotes[("INDJ25", d0)], strategy=equities)
    book.trade("DOLJ25", "BUY", "20", d10, price=quotes[("DOLJ25", d10)], strategy=fx)
    book.trade("DI1N26", "BUY", "800", d15, price=quotes[("DI1N26", d15)], fees="160")
    record_flow(
        book.portfolio, day=days[20], kind="SUBSCRIPTION", amount=Decimal(10_000_000), by=user
    )
    catch_up(book.portfolio, days[-1])
    return book.portfolio


def test_the_manager_reads_switches_and_drills_down(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    fund = two_month_fund(book_at, pm_alice)
    page = login(pm_alice)
    page.goto(f"{live_server.url}/attribution/?portfolio={fund.code}&period=ytd")
    expect(page.get_by_test_id("kpis")).to_contain_text("% of CDI")
    expect(page.get_by_test_id("period-label")).to_contain_text("Year to date")
    for canvas in ("chart-cumulative", "chart-drawdown", "chart-strategies"):
        expect(page.locator(f"canvas#{canvas}")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && ['chart-cumulative', 'chart-drawdown', 'chart-strategies']"
        ".every(id => Chart.getChart(id) !== undefined)"
    )
    expect(page.get_by_test_id("monthly-year")).to_have_count(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "attribution.png"), full_page=True)

    page.get_by_role("link", name="MTD").click()
    page.wait_for_url("**period=mtd**")  # hx-push-url
    expect(page.get_by_test_id("period-label")).to_contain_text("Month to date")
    expect(page.get_by_test_id("period-label")).to_contain_text("01/02/2025 – 28/02/2025")
    assert page.locator("header.topbar").count() == 1  # a swapped fragment, not a new page
    page.wait_for_function("() => Chart.getChart('chart-strategies') !== undefined")

    rates = page.get_by_test_id("row-strategy").filter(has_text="Rates BR")
    index = rates.get_attribute("data-strategy")
    children = page.locator(f'tr.child[data-parent="{index}"]')
    expect(children.first).to_be_hidden()
    rates.get_by_test_id("expand").click()
    expect(children).to_have_count(3)
    for i in range(3):
        expect(children.nth(i)).to_be_visible()
    expect(children.filter(has_text="DI1F27")).to_have_count(1)
    rates.get_by_test_id("expand").click()
    expect(children.first).to_be_hidden()

    page.fill("#f-start", "2025-01-13")
    page.fill("#f-end", "2025-02-07")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**period=custom**")
    expect(page.get_by_test_id("period-label")).to_contain_text("13/01/2025 – 07/02/2025")
    page.wait_for_function("() => Chart.getChart('chart-cumulative') !== undefined")
    page.screenshot(path=str(SHOTS / "attribution-custom.png"), full_page=True)


def test_the_last_period_picked_wins_in_the_view_and_the_url(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    """Issue 14 §7.1: a slow answer to an earlier click must not land over a later one; the URL
    is the view's after every change and a reload shows the same."""
    import contextlib
    import re

    from playwright.sync_api import Error, expect

    fund = two_month_fund(book_at, pm_alice)
    page = login(pm_alice)
    page.goto(f"{live_server.url}/attribution/?portfolio={fund.code}&period=ytd")
    label = page.get_by_test_id("period-label")
    expect(label).to_contain_text("Year to date")

    page.get_by_role("link", name="QTD").click()
    expect(label).to_contain_text("Quarter to date")
    expect(page).to_have_url(re.compile(r"period=qtd"))

    held: list[Any] = []  # the "since inception" answer is slow: held until MTD has landed
    page.route(re.compile(r"period=itd"), lambda route: held.append(route))
    page.get_by_role("link", name="Since inception").click()
    page.get_by_role("link", name="MTD").click()
    expect(label).to_contain_text("Month to date")
    assert held, "the slow request was sent"
    for route in held:
        with contextlib.suppress(Error):  # the browser had already given it up: the fix
            route.continue_()
    page.wait_for_timeout(1500)  # time for a stale answer to land, if it is going to
    expect(label).to_contain_text("Month to date")
    expect(page).to_have_url(re.compile(r"period=mtd"))

    page.reload()
    expect(label).to_contain_text("Month to date")
