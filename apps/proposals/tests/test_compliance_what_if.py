"""A proposal's what-if names the compliance rules its execution would break (the blotter
shows them before anyone decides)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.compliance.models import ComplianceRule, RuleKind, Severity
from apps.marketdata.models import Instrument
from apps.proposals.services import Terms, create_proposal, measure_what_if
from apps.trading.tests.support import TODAY, make_desk

pytestmark = pytest.mark.django_db


def test_the_what_if_and_the_blotter_name_the_broken_rule(
    client: Client, book_at: Any, pm_alice: Any
) -> None:
    desk = make_desk(book_at)
    ComplianceRule.objects.create(
        portfolio=desk.portfolio,
        code="single-instrument",
        name="One instrument ≤ 30 % of NAV",
        kind=RuleKind.INSTRUMENT,
        limit=Decimal("0.30"),
        severity=Severity.HARD,
        legal_basis="Fund policy.",
    )
    proposal = create_proposal(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="DI1F29"),
        terms=Terms("BUY", Decimal("700")),
        rationale="Receive the belly.",
        business_date=TODAY,
        by=pm_alice,
    )
    what_if = measure_what_if(proposal, day=TODAY)
    [broken] = what_if["compliance"]["broken"]
    assert broken["status"] == "block" and "One instrument ≤ 30 % of NAV" in broken["message"]

    small = create_proposal(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="DI1F29"),
        terms=Terms("BUY", Decimal("5")),
        rationale="A starter.",
        business_date=TODAY,
        by=pm_alice,
    )
    assert measure_what_if(small, day=TODAY)["compliance"] == {"rules": 1, "broken": []}

    client.force_login(pm_alice)
    html = client.get(f"/blotter/?portfolio={desk.portfolio.code}&date={TODAY}").content.decode()
    assert "this trade breaks a hard rule" in html and "within its 1 rule" in html
