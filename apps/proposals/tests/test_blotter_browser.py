"""Deciding on the blotter in chromium: inline (htmx) approve and reject, then the approver.

pm_alice (the demo manager) approves cio_bob's proposal and rejects a rule's, without a page
load; cio_bob then logs in and finds pm_alice's proposals waiting for him.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.journal.models import Entry, EntryKind
from apps.marketdata.calendar import business_days, previous_business_day
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal, ProposalStatus
from apps.proposals.tests import test_blotter_page
from apps.proposals.tests.test_blotter_page import Desk
from apps.risk.models import Limit
from tests.support import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
desk = test_blotter_page.desk  # the fund fixture, shared with the page tests

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
HISTORY_DAYS = 90


@pytest.fixture(autouse=True)
def _trading_morning() -> Iterator[None]:
    """Real time here: chromium would drop a session cookie that expired in 2025."""
    yield


def _market(desk: Desk) -> None:
    """Three months of settlements (so VaR has a history), a small book, a gross limit."""
    maturities: dict[str, date] = {}
    for ticker in ("DI1F28", "DI1F30"):
        maturity = InstrumentFactory.create(ticker=ticker).maturity
        assert maturity is not None
        maturities[ticker] = maturity
    InstrumentFactory.create(ticker="INDZ27")
    already = {("PETR4", desk.trade_day), ("DI1F30", desk.trade_day)}  # the desk's own
    rng = random.Random(7)
    levels = {"PETR4": 38.5, "INDZ27": 131_500.0, "DI1F28": 0.1318, "DI1F30": 0.1350}
    day = desk.trade_day
    for _ in range(HISTORY_DAYS):
        for ticker, level in levels.items():
            if (ticker, day) in already:
                pass
            elif ticker in maturities:
                du = business_days(day, maturities[ticker])
                desk.book.price(
                    ticker, day, f"{100_000 / (1 + level) ** (du / 252):.2f}", f"{level:.5f}"
                )
            else:
                desk.book.price(ticker, day, f"{level:.2f}")
            step = rng.gauss(0, 0.0007) if ticker in maturities else level * rng.gauss(0, 0.015)
            levels[ticker] = level + step
        day = previous_business_day(day)
    desk.book.trade("PETR4", "BUY", "150000", desk.trade_day, price="38.50")
    desk.book.trade("DI1F30", "BUY", "300", desk.trade_day, rate="0.1350")
    run_mtm(desk.portfolio, desk.trade_day)
    Limit.objects.create(
        portfolio=desk.portfolio, metric="GROSS", warning_level="0.26", hard_level="0.28"
    )


def _proposals(desk: Desk, pm_alice: Any, cio_bob: Any) -> dict[str, Proposal]:
    return {
        "alice_petr": desk.propose(
            pm_alice,
            "PETR4",
            "BUY",
            "120000",
            limit_price="38.40",
            rationale="Q3 beat and a R$ 15bn buyback; the stock trades 2 P/E points under peers.",
        ),
        "alice_di1": desk.propose(
            pm_alice,
            "DI1F30",
            "SELL",
            "150",
            limit_rate="0.1362",
            rationale="Fiscal noise into the budget vote: pay the 2030 DI at 13.62 % as a hedge.",
        ),
        "bob_ind": desk.propose(
            cio_bob,
            "INDZ27",
            "SELL",
            "20",
            limit_price="130500",
            rationale="Reduce equity beta before the Copom decision.",
        ),
        "rule_di1": desk.propose(
            None,
            "DI1F28",
            "BUY",
            "200",
            limit_rate="0.1318",
            source="di1_carry",
            rationale="DI1F28 settled at 13.180 % against CDI 11.15 %: carry +203 bp a year, "
            "beyond the rule's ±75 bp threshold, so receive (long PU, dar taxa).",
        ),
    }


def _log_in(page: Any, url: str, user: Any) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_the_manager_decides_inline_and_the_approver_sees_what_is_left(
    desk: Desk, pm_alice: Any, cio_bob: Any, login: Any, browser: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    _market(desk)
    made = _proposals(desk, pm_alice, cio_bob)
    bob_ind, rule_di1 = made["bob_ind"], made["rule_di1"]

    page = login(pm_alice)
    page.goto(f"{live_server.url}/blotter/")
    expect(page.get_by_test_id("pending").locator("tbody.proposal")).to_have_count(4)
    page.evaluate("window.__marker = 'still here'")

    # Approve cio_bob's proposal in its row: htmx swaps the row, the page stays.
    row = page.get_by_test_id(f"proposal-{bob_ind.pk}")
    row.locator("input[name=note]").fill("Agreed: cut beta before Copom.")
    row.locator("[data-action=approve]").click()
    expect(page.get_by_test_id(f"proposal-{bob_ind.pk}")).to_have_attribute(
        "data-status", ProposalStatus.APPROVED
    )
    expect(page.get_by_test_id(f"proposal-{bob_ind.pk}")).to_contain_text("approved")
    assert page.evaluate("window.__marker") == "still here"

    # Her own proposals offer no decision, only the four-eyes reminder.
    own = page.get_by_test_id(f"proposal-{made['alice_petr'].pk}")
    expect(own).to_contain_text("another manager or approver decides it")
    expect(own.locator("[data-action=approve]")).to_have_count(0)

    # Reject the rule's proposal: first without a note (inline error), then with one.
    row = page.get_by_test_id(f"proposal-{rule_di1.pk}")
    row.get_by_text("Reject…").click()
    row.locator("[data-action=reject]").click()
    row = page.get_by_test_id(f"proposal-{rule_di1.pk}")
    expect(row.locator(".errorlist")).to_contain_text("Say why: rejecting a proposal needs a note.")
    assert page.evaluate("window.__marker") == "still here"
    rule_di1.refresh_from_db()
    assert rule_di1.status == ProposalStatus.PENDING
    page.get_by_test_id(f"proposal-{bob_ind.pk}").get_by_text("Execute…").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "blotter-actions.png"), full_page=True)
    row.get_by_placeholder("Why reject? (required)").fill(
        "Carry is real but the curve is too steep to fight."
    )
    row.locator("[data-action=reject]").click()
    expect(page.get_by_test_id(f"proposal-{rule_di1.pk}")).to_have_attribute(
        "data-status", ProposalStatus.REJECTED
    )
    assert page.evaluate("window.__marker") == "still here"
    assert page.locator("header.topbar").count() == 1

    bob_ind.refresh_from_db()
    rule_di1.refresh_from_db()
    assert (bob_ind.status, bob_ind.decided_by) == (ProposalStatus.APPROVED, pm_alice)
    assert (rule_di1.status, rule_di1.decided_by) == (ProposalStatus.REJECTED, pm_alice)
    assert Entry.objects.filter(proposal_id=rule_di1.pk, kind=EntryKind.PROPOSAL_REJECTED).exists()

    # The approver, in a browser of his own, finds pm_alice's proposals pending.
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        bob = context.new_page()
        _log_in(bob, live_server.url, cio_bob)
        bob.goto(f"{live_server.url}/blotter/")
        pending = bob.get_by_test_id("pending")
        expect(pending.locator("tbody.proposal")).to_have_count(2)
        petr = bob.get_by_test_id(f"proposal-{made['alice_petr'].pk}")
        expect(petr).to_contain_text("Q3 beat and a R$ 15bn buyback")
        expect(petr.locator(".badge.bad")).to_contain_text("hard limit")
        expect(petr.locator(".act-approve textarea[name=override_note]")).to_be_visible()
        expect(bob.get_by_test_id("history")).to_contain_text("Rejected")
        bob.screenshot(path=str(SHOTS / "blotter.png"), full_page=True)

        bob.goto(f"{live_server.url}/journal/")
        bob.get_by_test_id("verify-chain").click()
        expect(bob.locator("#chain-badge")).to_contain_text("chain intact ✓")
        bob.locator("details.snapshot summary").first.click()
        bob.screenshot(path=str(SHOTS / "journal.png"), full_page=True)
    finally:
        context.close()
    assert Decimal(Proposal.objects.get(pk=made["alice_di1"].pk).quantity) == 150
