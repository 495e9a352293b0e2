"""The issue's fat-finger ticket on every booking path (form, API, admin), a ticket inside the
limits on each, the price band, warnings to confirm, and dry runs that journal nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.positions.models import Trade
from apps.trading.models import FatFingerRule, RuleKind
from apps.trading.tests.support import (
    HUGE,
    admin_ticket,
    api_ticket,
    entries,
    ledger_state,
    logged_in,
    make_desk,
    refusals,
    ticket,
)

D = Decimal
BLOCK_TEXT = "Quantity: 99,999,999,999 (BUY DI1F29) is at or above the blocking level 100,000"


@pytest.fixture
def desk(book_at: Any) -> Any:
    return make_desk(book_at)


def _huge(book: Any) -> dict[str, Any]:
    return {"quantity": HUGE, "price": "70010.00"}


def test_the_huge_di1_ticket_is_blocked_on_the_form(client: Client, desk, pm_alice) -> None:
    before = ledger_state(desk)
    response = logged_in(client, pm_alice).post(
        "/book/trade/new/", ticket(desk, "DI1F29", **_huge(desk))
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert BLOCK_TEXT in body and 'data-status="block"' in body
    assert "Notional vs NAV" in body  # every rule is listed, with its numbers
    assert ledger_state(desk) == before
    [refusal] = refusals()
    assert refusal.actor == pm_alice and refusal.portfolio_id == desk.portfolio.pk
    assert refusal.snapshot["ticket"]["quantity"] == "99999999999"
    blocked = {r["rule"]: r for r in refusal.snapshot["verdict"]["results"]}
    assert blocked["QUANTITY"]["status"] == "block"
    assert D(blocked["QUANTITY"]["value"]) == D(HUGE) and D(blocked["QUANTITY"]["block"]) == 100_000
    assert blocked["NOTIONAL"]["status"] == "block"  # R$ 7 quadrillion against a R$ 100 mi NAV


def test_the_huge_di1_ticket_is_blocked_on_the_api(client: Client, desk, bo_carol) -> None:
    before = ledger_state(desk)
    response = logged_in(client, bo_carol).post(
        "/api/trades/", api_ticket(desk, "DI1F29", **_huge(desk)), content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert any(BLOCK_TEXT in m for m in body["quantity"])
    assert body["verdict"]["status"] == "block"
    quantity = next(r for r in body["verdict"]["results"] if r["rule"] == "QUANTITY")
    assert D(quantity["value"]) == D(HUGE) and D(quantity["block"]) == D(100_000)
    assert ledger_state(desk) == before
    assert [e.actor for e in refusals()] == [bo_carol]


def test_the_huge_di1_ticket_is_blocked_in_the_admin(admin_client: Client, desk) -> None:
    before = ledger_state(desk)
    response = admin_client.post(
        "/admin/positions/trade/add/", admin_ticket(desk, "DI1F29", **_huge(desk))
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert BLOCK_TEXT in response.content.decode()
    assert ledger_state(desk) == before
    assert len(refusals()) == 1


def test_a_ticket_inside_the_limits_passes_on_every_path(
    client: Client, admin_client: Client, desk, pm_alice
) -> None:
    form = logged_in(client, pm_alice).post("/book/trade/new/", ticket(desk))
    assert form.status_code == 302
    api = client.post("/api/trades/", api_ticket(desk), content_type="application/json")
    assert api.status_code == 201, api.json()
    assert api.json()["verdict"]["status"] == "pass"
    admin = admin_client.post("/admin/positions/trade/add/", admin_ticket(desk))
    assert admin.status_code == 302
    assert Trade.objects.filter(instrument__ticker="PETR4", quantity=100).count() == 3
    recorded = entries(EntryKind.TRADE_RECORDED)[-3:]
    assert [e.snapshot["pretrade"]["status"] for e in recorded] == ["pass"] * 3
    assert refusals() == []


def _price_band(desk: Any, warn: str, block: str) -> None:
    FatFingerRule.objects.create(
        portfolio=desk.portfolio,
        instrument_kind="EQUITY",
        rule=RuleKind.PRICE_BAND,
        warn_level=D(warn),
        block_level=D(block),
    )


def test_a_price_30_percent_off_the_settlement_blocks_by_default(
    client: Client, desk, pm_alice
) -> None:
    # PETR4 settled at 37.65 on 04/02/2025: 48.95 is 30.0 % above.
    response = logged_in(client, pm_alice).post(
        "/api/trades/", api_ticket(desk, price="48.95"), content_type="application/json"
    )
    assert response.status_code == 400
    [message] = response.json()["price"]
    assert message == (
        "Price vs last settlement: 30.01 % (48.95 against 37.65 on 04/02/2025) is at or above "
        "the blocking level 25.00 %."
    )
    assert len(refusals()) == 1


def test_a_price_30_percent_off_warns_when_the_fund_allows_it(
    client: Client, desk, pm_alice
) -> None:
    _price_band(desk, "0.05", "0.50")
    logged_in(client, pm_alice)
    before = ledger_state(desk)
    unconfirmed = client.post(
        "/api/trades/", api_ticket(desk, price="48.95"), content_type="application/json"
    )
    assert unconfirmed.status_code == 400
    said = unconfirmed.json()["confirm_warnings"]
    assert said[0] == "Confirm the warnings to book this trade."
    assert "at or above the warning level 5.00 %" in said[1]
    assert ledger_state(desk) == before and refusals() == []  # a warning is not a refusal
    confirmed = client.post(
        "/api/trades/",
        api_ticket(desk, price="48.95", confirm_warnings=True),
        content_type="application/json",
    )
    assert confirmed.status_code == 201
    assert confirmed.json()["verdict"]["status"] == "warn"
    kept = entries(EntryKind.TRADE_RECORDED)[-1].snapshot["pretrade"]
    assert kept["status"] == "warn"
    assert [r["rule"] for r in kept["results"] if r["status"] == "warn"] == ["PRICE_BAND"]


def test_the_form_asks_to_confirm_a_warning_then_books(client: Client, desk, pm_alice) -> None:
    _price_band(desk, "0.05", "0.50")
    logged_in(client, pm_alice)
    shown = client.post("/book/trade/new/", ticket(desk, price="48.95"))
    body = shown.content.decode()
    assert shown.status_code == 200 and 'data-testid="confirm-errors"' in body
    assert 'data-status="warn"' in body
    booked = client.post(
        "/book/trade/new/", ticket(desk, price="48.95", confirm_warnings="on"), follow=True
    )
    assert "Pre-trade warnings (journaled): Price vs last settlement" in booked.content.decode()


def test_the_admin_asks_to_confirm_a_warning(admin_client: Client, desk) -> None:
    _price_band(desk, "0.05", "0.50")
    shown = admin_client.post("/admin/positions/trade/add/", admin_ticket(desk, price="48.95"))
    assert "Confirm the warnings to book this trade." in shown.content.decode()
    booked = admin_client.post(
        "/admin/positions/trade/add/", admin_ticket(desk, price="48.95", confirm_warnings="on")
    )
    assert booked.status_code == 302 and Trade.objects.filter(price=D("48.95")).exists()


def test_dry_runs_and_the_sandbox_journal_nothing(client: Client, desk, pm_alice) -> None:
    logged_in(client, pm_alice)
    before, journaled = ledger_state(desk), Entry.objects.count()
    dry = client.post(
        "/api/trades/",
        api_ticket(desk, "DI1F29", dry_run=True, **_huge(desk)),
        content_type="application/json",
    )
    assert dry.status_code == 200 and dry.json()["status"] == "block"
    check = client.post(
        "/book/trade/new/", {**ticket(desk, "DI1F29", **_huge(desk)), "action": "check"}
    )
    assert BLOCK_TEXT in check.content.decode()
    sandbox = client.post("/book/sandbox/", _basket(desk, ("DI1F29", HUGE), ("PETR4", "100")))
    assert sandbox.status_code == 200 and BLOCK_TEXT in sandbox.content.decode()
    assert ledger_state(desk) == before and Entry.objects.count() == journaled


def _basket(desk: Any, *lines: tuple[str, str]) -> dict[str, Any]:
    from apps.marketdata.models import Instrument

    data: dict[str, Any] = {
        "portfolio": desk.portfolio.pk,
        "trade_date": "2025-02-04",
        "t-TOTAL_FORMS": str(len(lines)),
        "t-INITIAL_FORMS": "0",
        "t-MIN_NUM_FORMS": "0",
        "t-MAX_NUM_FORMS": "20",
    }
    for n, (ticker, quantity) in enumerate(lines):
        data |= {
            f"t-{n}-strategy": desk.strategy.pk,
            f"t-{n}-instrument": Instrument.objects.get(ticker=ticker).pk,
            f"t-{n}-side": "BUY",
            f"t-{n}-quantity": quantity,
        }
    return data


def test_the_sandbox_measures_a_basket_before_and_after(client: Client, desk, pm_alice) -> None:
    response = logged_in(client, pm_alice).post(
        "/book/sandbox/", _basket(desk, ("DI1F29", "50"), ("PETR4", "1000"))
    )
    body = response.content.decode()
    verdict = response.context["verdict"]
    assert verdict.status == "pass"
    assert [t["ticker"] for t in verdict.what_if["trades"]] == ["DI1F29", "PETR4"]
    before, after = verdict.what_if["before"], verdict.what_if["after"]
    assert after["dv01_total"] < before["dv01_total"]  # 50 long PU DI1F29 lose when rates rise
    assert 'data-testid="what-if-dv01"' in body and 'data-testid="what-if-exposures"' in body
    assert "Line 2" in body  # the basket's rules, line by line
