"""Helpers for the tests on the demo fund (not fixtures: those are in conftest.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User

from apps.positions.models import NavRecord, Portfolio, Position
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, create_proposal
from apps.risk.services import ensure_default_limits, run_risk


def prepare_morning(portfolio: Portfolio, day: date) -> Proposal:
    """What the pre-open run leaves before the pack: a risk snapshot and a pending proposal."""
    last = NavRecord.objects.filter(portfolio=portfolio).latest("date").date
    ensure_default_limits(portfolio)
    run_risk(portfolio, last)
    held = Position.objects.open().filter(portfolio=portfolio, instrument__kind="DI1").first()
    assert held is not None
    return create_proposal(
        portfolio=portfolio,
        strategy=portfolio.strategies.get(code="rates-br"),
        instrument=held.instrument,
        terms=Terms("BUY", Decimal("100")),
        rationale="Add to the receiver.",
        business_date=day,
        by=User.objects.get(username="cio_bob"),
    )
