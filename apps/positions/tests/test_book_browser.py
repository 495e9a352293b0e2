"""The manager opens the book, filters it (htmx) and drills into a position, in chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.positions.tests.test_book_page import D1, make_fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_the_manager_reads_filters_and_drills_into_the_book(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    make_fund(book_at(D1, "DI1F26", "DI1F27", "WDOH25", "INDG25"))
    page = login(pm_alice)
    page.wait_for_url("**/morning/")  # home lands on the morning pack, the 06:00 page
    page.goto(f"{live_server.url}/book/")
    table = page.get_by_test_id("book-table")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("position-row")).to_have_count(4)
    expect(page.get_by_test_id("subtotal")).to_have_count(2)  # FX closed on the 3rd
    expect(page.get_by_test_id("totals")).to_contain_text("Total · 4 open")
    expect(page.get_by_test_id("kpis")).to_contain_text("NAV")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "book.png"), full_page=True)

    page.select_option("#f-strategy", "rates-br")
    page.wait_for_url("**strategy=rates-br**")  # hx-push-url
    expect(page.get_by_test_id("position-row")).to_have_count(2)
    expect(page.get_by_test_id("totals")).to_contain_text("(filtered)")
    assert page.locator("header.topbar").count() == 1  # swapped a fragment, not a page

    page.get_by_role("link", name="DI1F26").click()
    page.wait_for_url("**/book/position/**")
    expect(page.locator("canvas#pnl-cumulative")).to_be_visible()
    expect(page.locator("canvas#pnl-daily")).to_be_visible()
    expect(page.get_by_test_id("direction")).to_have_text("long PU (dado)")
    page.wait_for_function("() => window.Chart && Chart.getChart('pnl-daily') !== undefined")
    page.screenshot(path=str(SHOTS / "position.png"), full_page=True)


def _query(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return {k: v for k, v in parse_qsl(urlsplit(url).query) if v}


def test_the_address_bar_is_the_view_after_every_filter_change(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    """Issue 14 §7.1: once a change is on screen the URL is its URL, two quick changes both land
    (the last wins, in the view and in the URL), and a reload shows what was on screen."""
    from playwright.sync_api import expect

    make_fund(book_at(D1, "DI1F26", "DI1F27", "WDOH25", "INDG25"))
    page = login(pm_alice)
    page.goto(f"{live_server.url}/book/")
    table = page.get_by_test_id("book-table")
    expect(page.get_by_test_id("position-row")).to_have_count(4)

    page.select_option("#f-strategy", "rates-br")
    expect(table).not_to_contain_text("INDG25")  # the rates view is on screen ...
    assert _query(page.url).get("strategy") == "rates-br", page.url  # ... and in the URL

    page.select_option("#f-strategy", "equities")
    expect(table).not_to_contain_text("DI1F27")
    assert _query(page.url).get("strategy") == "equities", page.url

    # Two changes without waiting for the first answer: all strategies, then rates only.
    page.select_option("#f-strategy", "")
    page.select_option("#f-class", "RATES")
    expect(table).to_contain_text("DI1F27")
    expect(table).not_to_contain_text("INDG25")
    expect(page).to_have_url(re.compile(r"asset_class=RATES"))
    assert "strategy" not in _query(page.url), page.url
    expect(page.locator("#f-class")).to_have_value("RATES")

    page.reload()
    expect(page.locator("#f-class")).to_have_value("RATES")
    expect(table).to_contain_text("DI1F27")
    expect(table).not_to_contain_text("INDG25")
