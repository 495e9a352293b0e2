"""A hard-limit breach on a direct trade: refused, an override requested by the booker and
granted (with a note) only by an approver who is not the booker; all journaled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from apps.journal.models import EntryKind
from apps.positions.models import Trade
from apps.positions.services import TradeTicket
from apps.trading import overrides, services
from apps.trading.models import OverrideRequest, OverrideStatus
from apps.trading.pretrade import Override, TradeRefused
from apps.trading.tests.support import (
    TODAY,
    entries,
    gross_limit,
    ledger_state,
    logged_in,
    make_desk,
    refusals,
    ticket,
)

D = Decimal
# 700 DI1F29 at 70,010: R$ 49 mi of notional on a R$ 100 mi fund, past a 30 % gross limit.
BIG = {"quantity": "700", "price": "70010.00"}


@pytest.fixture
def desk(book_at: Any) -> Any:
    book = make_desk(book_at)
    gross_limit(book, "0.20", "0.30")
    return book


def _ticket(desk: Any) -> TradeTicket:
    from apps.marketdata.models import Instrument

    return TradeTicket(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="DI1F29"),
        side="BUY",
        quantity=D("700"),
        price=D("70010.00"),
        trade_date=TODAY,
    )


def test_a_hard_breach_is_refused_and_journaled(client: Client, desk, pm_alice) -> None:
    before = ledger_state(desk)
    response = logged_in(client, pm_alice).post("/book/trade/new/", ticket(desk, "DI1F29", **BIG))
    body = response.content.decode()
    assert "Hard limit breached: Gross exposure (% of NAV) — Portfolio" in body
    assert "A hard-limit breach needs an override" in body
    assert 'data-testid="override-request"' in body  # the page offers to ask for one
    assert ledger_state(desk) == before
    [refusal] = refusals()
    assert refusal.snapshot["verdict"]["what_if"]["hard_breaches"][0].startswith("Gross exposure")


def test_the_booker_cannot_release_their_own_breach(desk, pm_alice) -> None:
    own = Override(by=pm_alice, note="I know what I am doing.", source="test")
    with pytest.raises(TradeRefused, match="may not override this breach"):
        services.book_trade(_ticket(desk), by=pm_alice, override=own)
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()
    assert len(refusals()) == 1


def test_an_approver_grants_the_request_with_a_note_and_it_is_booked(
    client: Client, desk, pm_alice, cio_bob, bo_carol
) -> None:
    logged_in(client, pm_alice)
    asked = client.post(
        "/book/trade/new/",
        {
            **ticket(desk, "DI1F29", **BIG),
            "action": "request_override",
            "override_reason": "Hedge for the NTN-B auction, sized by the CIO.",
        },
        follow=True,
    )
    assert "Override request #" in asked.content.decode()
    request = OverrideRequest.objects.get()
    assert request.status == OverrideStatus.PENDING and request.requested_by == pm_alice
    assert entries(EntryKind.OVERRIDE_REQUESTED)[0].note.startswith("Hedge for the NTN-B")
    # The booker sees the request but cannot grant it; back office cannot either.
    page = client.get("/book/overrides/").content.decode()
    assert "Yours: another approver decides." in page
    with pytest.raises(PermissionDenied):
        overrides.grant_override(request, by=pm_alice, note="Fine by me.")
    with pytest.raises(PermissionDenied):
        overrides.grant_override(request, by=bo_carol, note="Fine by me.")
    with pytest.raises(ValidationError, match="needs a note"):
        overrides.grant_override(request, by=cio_bob, note="  ")
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()
    # The approver grants it on the page: the ticket is booked as the booker's trade.
    logged_in(client, cio_bob)
    done = client.post(
        f"/book/overrides/{request.pk}/grant/",
        {"note": "Within the mandate for the auction week."},
        follow=True,
    )
    assert "granted: trade #" in done.content.decode()
    trade = Trade.objects.get(instrument__ticker="DI1F29")
    assert trade.created_by == pm_alice and trade.quantity == D("700")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.trade) == (
        OverrideStatus.GRANTED,
        cio_bob,
        trade,
    )
    [override] = entries(EntryKind.LIMIT_OVERRIDE)
    assert (override.actor, override.trade_id) == (cio_bob, trade.pk)
    assert override.note == "Within the mandate for the auction week."
    assert override.snapshot["booked_by"] == pm_alice.username
    assert override.snapshot["hard_breaches"][0].startswith("Gross exposure")
    recorded = entries(EntryKind.TRADE_RECORDED)[-1]
    assert recorded.trade_id == trade.pk and recorded.snapshot["pretrade"]["status"] == "block"


def test_a_declined_request_books_nothing(desk, pm_alice, cio_bob) -> None:
    request = overrides.request_override(_ticket(desk), by=pm_alice, reason="Conviction trade.")
    overrides.decline_override(request, by=cio_bob, note="Too big for this book.")
    request.refresh_from_db()
    assert request.status == OverrideStatus.DECLINED
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()
    assert entries(EntryKind.OVERRIDE_DECLINED)[0].actor == cio_bob
    with pytest.raises(ValidationError, match="already declined"):
        overrides.grant_override(request, by=cio_bob, note="Changed my mind.")


def test_no_override_is_requested_for_a_ticket_within_the_limits(desk, pm_alice) -> None:
    small = TradeTicket(**{**_ticket(desk).__dict__, "quantity": D("5")})
    with pytest.raises(ValidationError, match="breaches no hard limit"):
        overrides.request_override(small, by=pm_alice, reason="Just in case.")


def test_the_api_asks_for_and_grants_an_override(client: Client, desk, pm_alice, cio_bob) -> None:
    from apps.trading.tests.support import api_ticket

    logged_in(client, pm_alice)
    refused = client.post(
        "/api/trades/", api_ticket(desk, "DI1F29", **BIG), content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"][0].startswith("Hard limit breached")
    asked = client.post(
        "/api/trades/request-override/",
        api_ticket(desk, "DI1F29", reason="Auction hedge.", **BIG),
        content_type="application/json",
    )
    assert asked.status_code == 201 and asked.json()["status"] == "PENDING"
    pk = asked.json()["id"]
    own = client.post(
        f"/api/trade-overrides/{pk}/grant/", {"note": "Mine."}, content_type="application/json"
    )
    assert own.status_code == 403 and not Trade.objects.filter(instrument__ticker="DI1F29")
    logged_in(client, cio_bob)
    listed = client.get("/api/trade-overrides/?status=pending").json()
    assert [r["id"] for r in listed["results"]] == [pk]
    granted = client.post(
        f"/api/trade-overrides/{pk}/grant/",
        {"note": "Within the mandate."},
        content_type="application/json",
    )
    assert granted.status_code == 201, granted.json()
    body = granted.json()
    assert body["created_by"] == pm_alice.username and body["verdict"]["status"] == "block"
    assert entries(EntryKind.LIMIT_OVERRIDE)[0].actor == cio_bob
