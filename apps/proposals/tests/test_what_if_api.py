"""A proposal's what-if over HTTP (/api/risk/what-if/): measured by risk, kept on the proposal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.marketdata.calendar import next_business_day, previous_business_day
from apps.marketdata.models import Instrument
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, create_proposal, reject_proposal
from apps.risk.models import Limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trading_morning() -> None:
    """These tests keep the real clock (not the blotter's morning in conftest)."""


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _as(api: APIClient, user: Any) -> APIClient:
    api.force_authenticate(user)
    return api


@pytest.fixture
def pending(book_at: Any, cio_bob: Any) -> Proposal:
    """A fund marked once, a tight gross limit and a proposal that breaks it."""
    trade_day = previous_business_day(timezone.localdate() + timedelta(days=1))
    book = book_at(trade_day)
    InstrumentFactory(equity=True, ticker="PETR4")
    book.price("PETR4", trade_day, "38.50")
    run_mtm(book.portfolio, trade_day)
    Limit.objects.create(
        portfolio=book.portfolio, metric="GROSS", warning_level="0.001", hard_level="0.002"
    )
    return create_proposal(
        portfolio=book.portfolio,
        strategy=book.strategy,
        instrument=Instrument.objects.get(ticker="PETR4"),
        terms=Terms("BUY", Decimal("10000")),
        rationale="Cheap after the guidance cut.",
        business_date=next_business_day(timezone.localdate()),  # never expired mid-test
        by=cio_bob,
    )


def test_what_if_measures_the_proposal(api, pending: Proposal, pm_alice) -> None:
    pending.what_if = {}
    pending.save(update_fields=["what_if"])
    response = _as(api, pm_alice).post("/api/risk/what-if/", {"proposal": pending.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["before"]["gross_pct"] == 0
    assert body["after"]["gross_pct"] == 0.0039  # R$ 385k on R$ 100m, 4 places
    assert body["hard_breaches"] == [
        "Gross exposure (% of NAV) — Portfolio: 192% of the hard limit"
    ]
    pending.refresh_from_db()
    assert pending.what_if["hard_breaches"] == body["hard_breaches"]


def test_what_if_keeps_a_decided_proposal_as_it_was(api, pending: Proposal, pm_alice) -> None:
    reject_proposal(pending, by=pm_alice, note="Too big for the limit.")
    kept = Proposal.objects.get(pk=pending.pk).what_if
    response = _as(api, pm_alice).post("/api/risk/what-if/", {"proposal": pending.pk})
    assert response.status_code == 400
    assert "is rejected: its what-if is kept" in response.json()["proposal"][0]
    assert Proposal.objects.get(pk=pending.pk).what_if == kept


def test_what_if_refuses_viewers_and_unknown_proposals(
    api, pending: Proposal, viewer_dan, pm_alice
) -> None:
    assert (
        _as(api, viewer_dan).post("/api/risk/what-if/", {"proposal": pending.pk}).status_code == 403
    )
    missing = _as(api, pm_alice).post("/api/risk/what-if/", {"proposal": 999999})
    assert missing.status_code == 400 and "proposal" in missing.json()


def test_the_schema_lists_the_what_if_endpoint(api, pm_alice) -> None:
    schema = _as(api, pm_alice).get("/api/schema/", {"format": "json"}).json()
    assert "/api/risk/what-if/" in schema["paths"]
