"""A reversal is checked and reported, never refused: a wrong trade must stay correctable."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.journal.models import EntryKind
from apps.positions.models import Trade
from apps.trading.tests.support import entries, gross_limit, logged_in, make_desk, ticket


@pytest.fixture
def desk(book_at: Any) -> Any:
    return make_desk(book_at)


def test_a_reversal_that_would_now_breach_a_limit_goes_through(
    client: Client, desk, pm_alice
) -> None:
    logged_in(client, pm_alice)
    # Buying back the 5 DI1F27 sold at inception closes the short: gross falls to ~1.0 %.
    bought = client.post(
        "/book/trade/new/",
        ticket(desk, "DI1F27", quantity="5", price="76850.10"),
    )
    assert bought.status_code == 302
    trade = Trade.objects.latest("pk")
    # Then risk tightens gross to 1.2 %: the reversal re-opens the short (~1.4 %), a breach.
    gross_limit(desk, "0.011", "0.012")
    response = client.post(
        f"/book/trade/{trade.pk}/reverse/", {"reason": "Booked on the wrong fund."}, follow=True
    )
    body = response.content.decode()
    assert f"Trade #{trade.pk} reversed by #" in body
    reversal = Trade.objects.get(reverses=trade)
    [reversed_entry] = entries(EntryKind.TRADE_REVERSED)
    kept = reversed_entry.snapshot["pretrade"]
    assert reversed_entry.trade_id == reversal.pk
    assert kept["status"] == "block"  # reported as it is, and still booked
    limits = next(r for r in kept["results"] if r["rule"] == "LIMITS")
    assert limits["message"].startswith("Hard limit breached: Gross exposure")
    assert "Pre-trade warnings (journaled): Hard limit breached" in body  # and shown
    assert entries(EntryKind.TRADE_REFUSED) == []
