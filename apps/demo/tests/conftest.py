"""A small demo fund (a few months of the demo market, traded and marked by the engine), and no
real Anthropic client: the pre-open and the morning packs these tests build use the template."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from apps.demo.fund import seed_fund
from apps.demo.options import SeedOptions
from apps.demo.seeders import seed_market
from apps.demo.users import ensure_demo_grants, ensure_demo_users
from apps.marketdata.calendar import next_business_day
from apps.positions.models import NavRecord, Portfolio

END = date(2025, 4, 30)


@pytest.fixture
def demo_fund(db: None, settings: Any) -> tuple[Portfolio, date]:
    """Demo Macro FIM over Jan–Apr 2025; returns the fund and the next trading day."""
    settings.DEBUG = True
    options = SeedOptions(start=date(2025, 1, 2), end=END, years=1, seed=7, reset_passwords=False)
    ensure_demo_users()
    seed_market(options)
    seed_fund(options)
    ensure_demo_grants()  # as seed_demo does once the funds exist
    portfolio = Portfolio.objects.get(code="demo-macro")
    last = NavRecord.objects.filter(portfolio=portfolio).latest("date").date
    return portfolio, next_business_day(last)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: Any) -> None:
    """Any attempt to build a real Anthropic client in these tests is a failure."""
    import anthropic

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a test tried to build a real Anthropic client")

    monkeypatch.setattr(anthropic, "Anthropic", refuse)
