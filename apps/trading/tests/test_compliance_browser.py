"""In chromium: the manager meets a trade blocked by a compliance rule, then reads the fund's
compliance page (its rules, the use of each limit charted, the open breach). Screenshots
under var/screenshots/."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.compliance.models import ComplianceRule, RuleKind, Severity
from apps.compliance.services import run_compliance
from apps.marketdata.models import Instrument
from apps.positions.models import Trade
from apps.trading.tests.support import TODAY, make_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_a_compliance_block_then_the_compliance_page(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    desk = make_desk(book_at)
    for code, name, kind, limit, scope in (
        ("single-instrument", "One instrument ≤ 30 % of NAV", RuleKind.INSTRUMENT, "0.30", ""),
        ("rates-share", "Rates ≤ 0.1 % of NAV", RuleKind.ASSET_CLASS, "0.001", "RATES"),
    ):
        ComplianceRule.objects.create(
            portfolio=desk.portfolio,
            code=code,
            name=name,
            kind=kind,
            scope=scope,
            limit=Decimal(limit),
            severity=Severity.HARD,
            legal_basis="Fund policy.",
        )
    run_compliance(desk.portfolio, TODAY)  # the EOD: the rates rule is broken already
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = login(pm_alice)

    # 1. 700 DI1F29 (R$ 49 mi on a R$ 100 mi fund): refused, the rule and its numbers shown.
    page.goto(f"{live_server.url}/book/trade/new/")
    page.select_option("#id_portfolio", str(desk.portfolio.pk))
    page.select_option("#id_strategy", str(desk.strategy.pk))
    page.select_option("#id_instrument", str(Instrument.objects.get(ticker="DI1F29").pk))
    page.fill("#id_quantity", "700")
    page.fill("#id_price", "70010.00")
    page.fill("#id_trade_date", TODAY.isoformat())
    page.get_by_role("button", name="Record trade").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-status", "block")
    rules = page.get_by_test_id("verdict-rules")
    expect(rules).to_contain_text("Compliance · One instrument ≤ 30 % of NAV")
    expect(rules).to_contain_text("this trade breaks a hard rule")
    expect(page.get_by_test_id("override-request")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "compliance-blocked-trade.png"), full_page=True)
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()

    # 2. The compliance page: both rules, the broken one flagged, its open breach listed.
    page.goto(f"{live_server.url}/compliance/?portfolio={desk.portfolio.code}")
    expect(page.get_by_test_id("rule-row")).to_have_count(2)
    broken = page.locator('[data-rule="rates-share"]')
    expect(broken.get_by_test_id("rule-status")).to_have_text("Hard breach")
    expect(page.get_by_test_id("open-breach")).to_contain_text("Rates ≤ 0.1 % of NAV")
    expect(page.get_by_test_id("compliance-chart")).to_be_visible()
    page.screenshot(path=str(SHOTS / "compliance-page.png"), full_page=True)
