"""In chromium: the manager tries a basket in the sandbox, then books a trade that warns
(confirming it) and meets one that blocks. Screenshots under var/screenshots/."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.journal.models import Entry, EntryKind
from apps.marketdata.models import Instrument
from apps.positions.models import Trade
from apps.trading.models import FatFingerRule
from apps.trading.tests.support import HUGE, TODAY, make_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _fill_ticket(page: Any, desk: Any, ticker: str, quantity: str, price: str) -> None:
    page.select_option("#id_portfolio", str(desk.portfolio.pk))
    page.select_option("#id_strategy", str(desk.strategy.pk))
    page.select_option("#id_instrument", str(Instrument.objects.get(ticker=ticker).pk))
    page.fill("#id_quantity", quantity)
    page.fill("#id_price", price)
    page.fill("#id_trade_date", TODAY.isoformat())


def test_sandbox_then_a_warning_confirmed_then_a_block(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    desk = make_desk(book_at)
    FatFingerRule.objects.create(  # this fund lets a price far off the settlement warn only
        portfolio=desk.portfolio,
        instrument_kind="EQUITY",
        rule="PRICE_BAND",
        warn_level=Decimal("0.05"),
        block_level=Decimal("0.50"),
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = login(pm_alice)

    # 1. The sandbox: a basket of two tickets, before → after, nothing written.
    page.goto(f"{live_server.url}/book/sandbox/")
    page.select_option("#id_portfolio", str(desk.portfolio.pk))
    page.fill("#id_trade_date", TODAY.isoformat())
    for n, (ticker, quantity) in enumerate((("DI1F29", "50"), ("PETR4", "2000"))):
        page.select_option(f"#id_t-{n}-strategy", str(desk.strategy.pk))
        page.select_option(f"#id_t-{n}-instrument", str(Instrument.objects.get(ticker=ticker).pk))
        page.fill(f"#id_t-{n}-quantity", quantity)
    page.get_by_role("button", name="Try it").click()
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_have_attribute("data-status", "pass")
    expect(page.get_by_test_id("what-if")).to_contain_text("VaR 99 %")
    expect(page.get_by_test_id("what-if-dv01")).to_be_visible()
    page.screenshot(path=str(SHOTS / "pretrade-sandbox.png"), full_page=True)
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()

    # 2. A ticket that warns (30 % above the settlement): shown, confirmed, booked.
    page.goto(f"{live_server.url}/book/trade/new/")
    _fill_ticket(page, desk, "PETR4", "100", "48.95")
    page.get_by_role("button", name="Record trade").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-status", "warn")
    expect(page.get_by_test_id("confirm-errors")).to_contain_text("Confirm the warnings")
    expect(page.get_by_test_id("verdict-rules")).to_contain_text("30.01 %")
    page.screenshot(path=str(SHOTS / "pretrade-warn.png"), full_page=True)
    page.check("#id_confirm_warnings")
    page.get_by_role("button", name="Record trade").click()
    expect(page.locator(".flash.success, .flash")).to_contain_text("Pre-trade warnings (journaled)")
    trade = Trade.objects.get(price=Decimal("48.95"))
    recorded = Entry.objects.get(kind=EntryKind.TRADE_RECORDED, trade_id=trade.pk)
    assert recorded.snapshot["pretrade"]["status"] == "warn"

    # 3. The ticket: 99,999,999,999 DI1F29 is blocked, with the rule and numbers.
    page.goto(f"{live_server.url}/book/trade/new/")
    _fill_ticket(page, desk, "DI1F29", HUGE, "70010.00")
    page.get_by_role("button", name="Record trade").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-status", "block")
    expect(page.locator("#quantity-errors")).to_contain_text(
        "Quantity: 99,999,999,999 (BUY DI1F29) is at or above the blocking level 100,000"
    )
    page.screenshot(path=str(SHOTS / "pretrade-block.png"), full_page=True)
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()
    assert Entry.objects.filter(kind=EntryKind.TRADE_REFUSED).count() == 1
