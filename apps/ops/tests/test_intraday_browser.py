"""In chromium, the manager's trading day: opening prices on the book's grid give a provisional
P&L; a trade then makes the risk page say it is stale, and its button makes it fresh (the
intraday risk of the book now). Screenshots under var/screenshots/."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from apps.marketdata.calendar import next_business_day
from apps.marketdata.models import Instrument, SettlementPrice
from apps.positions.models import Trade
from apps.risk.services import ensure_default_limits, run_risk
from apps.risk.tests.support import LAST, build_macro_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TODAY = next_business_day(LAST)
OPEN = datetime.combine(TODAY, time(9, 35), ZoneInfo("America/Sao_Paulo"))


def test_opening_prices_then_a_trade_then_the_risk_page_stale_then_fresh(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.CACHE_WRITE_THROUGH = False  # the refresh worker has not run yet: stale shows
    book = build_macro_book(book_at)
    ensure_default_limits(book.portfolio)
    run_risk(book.portfolio, LAST)
    wdo = SettlementPrice.objects.get(instrument__ticker="WDOH25", date=LAST).price
    SHOTS.mkdir(parents=True, exist_ok=True)
    with time_machine.travel(OPEN, tick=True):
        page = login(pm_alice)
        page.goto(f"{live_server.url}/book/")
        intraday = page.get_by_test_id("intraday")
        expect(intraday).to_contain_text("Intraday · provisional")
        grid = page.get_by_test_id("intraday-grid")
        grid.locator("input[name='q-DI1F27']").fill("15.40")
        grid.locator("input[name='q-WDOH25']").fill(str(wdo + 25))
        grid.get_by_role("button", name="Save intraday prices").click()
        expect(page.locator(".flash.success, .flash.ok, [role=status]").first).to_be_visible()
        expect(page.get_by_text("2 intraday price(s) saved")).to_be_visible()
        pnl = page.get_by_test_id("intraday-pnl")
        expect(pnl).not_to_have_text("0")
        sources = page.locator("[data-ticker='DI1F27'] .badge.warn")
        expect(sources.first).to_contain_text("intraday 09:3")
        page.locator(".intraday-grid summary").click()  # the prices, as the desk checks them
        expect(grid).to_be_visible()
        page.screenshot(path=str(SHOTS / "book-intraday.png"), full_page=True)

        page.goto(f"{live_server.url}/risk/")
        expect(page.get_by_test_id("stale")).to_contain_text("Intraday prices")
        page.get_by_role("button", name="Recompute now").click()
        expect(page.get_by_test_id("intraday-flag")).to_be_visible()
        expect(page.get_by_test_id("stale")).to_have_count(0)

        page.goto(f"{live_server.url}/book/trade/new/")
        page.select_option("#id_portfolio", str(book.portfolio.pk))
        page.select_option("#id_strategy", str(book.strategy.pk))
        page.select_option("#id_instrument", str(Instrument.objects.get(ticker="WDOH25").pk))
        page.fill("#id_quantity", "10")
        page.fill("#id_price", str(wdo + 25))
        page.fill("#id_trade_date", TODAY.isoformat())
        page.get_by_role("button", name="Record trade").click()
        page.wait_for_load_state("networkidle")
        assert Trade.objects.filter(trade_date=TODAY).count() == 1, page.content()[:3000]

        page.goto(f"{live_server.url}/risk/")
        stale = page.get_by_test_id("stale")
        expect(stale).to_contain_text("Book changed at 09:3")
        page.screenshot(path=str(SHOTS / "risk-stale.png"), full_page=True)
        page.get_by_role("button", name="Recompute now").click()
        expect(page.get_by_test_id("stale")).to_have_count(0)
        expect(page.get_by_test_id("intraday-flag")).to_be_visible()
        expect(page.get_by_test_id("as-of")).to_contain_text("Estimate of")
        page.screenshot(path=str(SHOTS / "risk-fresh.png"), full_page=True)


def test_stale_compliance_and_what_if_say_so_and_recompute(
    fund: Any, alice: Any, cio_bob: Any, login: Any, live_server: Any, pm_alice: Any
) -> None:
    """A backdated trade: the close's compliance page says it is stale and recomputes; a
    pending proposal's what-if on the blotter says so and is measured again."""
    from playwright.sync_api import expect

    from apps.compliance.services import ensure_default_rules, run_compliance
    from apps.ops.tests.support import D3, D4, propose_two_more, remark_trade
    from apps.proposals.services import refresh_what_if

    ensure_default_rules(fund.portfolio)
    run_compliance(fund.portfolio, D3)
    proposal = propose_two_more(fund, D4, fund.user)
    refresh_what_if(proposal)
    remark_trade(fund, "5")
    code = fund.portfolio.code
    page = login(pm_alice)
    page.goto(f"{live_server.url}/compliance/?portfolio={code}")
    expect(page.get_by_test_id("stale")).to_contain_text("Book changed at")
    page.screenshot(path=str(SHOTS / "compliance-stale.png"), full_page=False)
    page.get_by_role("button", name="Recompute now").click()
    expect(page.get_by_test_id("stale")).to_have_count(0)

    page.goto(f"{live_server.url}/blotter/?portfolio={code}")
    stale = page.get_by_test_id("what-if-stale")
    expect(stale).to_contain_text("Book changed at")
    page.screenshot(path=str(SHOTS / "blotter-what-if-stale.png"), full_page=False)
    stale.get_by_role("button", name="Measure again").click()
    expect(page.get_by_test_id("what-if-stale")).to_have_count(0)
