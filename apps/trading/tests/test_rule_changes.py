"""Every change of a fat-finger rule or a limit is journaled: old → new, who, why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.journal.models import EntryKind
from apps.risk.models import Limit
from apps.trading.models import FatFingerRule
from apps.trading.tests.support import entries, gross_limit, make_desk

D = Decimal


@pytest.fixture
def desk(book_at: Any) -> Any:
    return make_desk(book_at)


def _rule(desk: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "portfolio": desk.portfolio.pk,
        "instrument_kind": "DI1",
        "rule": "QUANTITY",
        "warn_level": "5000",
        "block_level": "20000",
        "active": "on",
        "reason": "DI1 liquidity is thinner past 2029.",
    }
    return {**data, **changes}


def test_a_rule_added_and_changed_in_the_admin_is_journaled(admin_client: Client, desk) -> None:
    added = admin_client.post("/admin/trading/fatfingerrule/add/", _rule(desk))
    assert added.status_code == 302
    rule = FatFingerRule.objects.get()
    url = f"/admin/trading/fatfingerrule/{rule.pk}/change/"
    changed = admin_client.post(url, _rule(desk, block_level="30000", reason="Desk asked."))
    assert changed.status_code == 302
    first, second = entries(EntryKind.RULE_CHANGED)
    assert first.actor is not None and first.actor.username == "admin"
    assert first.snapshot["old"] is None and first.snapshot["new"]["block_level"] == "20000.000000"
    assert first.note == "DI1 liquidity is thinner past 2029."
    assert second.snapshot["old"]["block_level"] == "20000.000000"
    assert second.snapshot["new"]["block_level"] == "30000.000000"
    assert second.snapshot["changed"] == ["block_level"] and second.note == "Desk asked."


def test_a_change_without_a_reason_is_refused(admin_client: Client, desk) -> None:
    response = admin_client.post("/admin/trading/fatfingerrule/add/", _rule(desk, reason=""))
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not FatFingerRule.objects.exists() and entries(EntryKind.RULE_CHANGED) == []


def test_the_rules_take_effect_per_fund_and_kind(client: Client, desk, pm_alice) -> None:
    from apps.trading.tests.support import api_ticket

    FatFingerRule.objects.create(
        portfolio=desk.portfolio,
        instrument_kind="EQUITY",
        rule="QUANTITY",
        warn_level=D("10"),
        block_level=D("50"),
    )
    client.force_login(pm_alice)
    response = client.post("/api/trades/", api_ticket(desk), content_type="application/json")
    assert response.status_code == 400
    assert "at or above the blocking level 50" in response.json()["quantity"][0]


def test_a_limit_changed_in_the_admin_is_journaled(admin_client: Client, desk) -> None:
    limit = gross_limit(desk, "0.20", "0.30")
    data = {
        "portfolio": desk.portfolio.pk,
        "metric": "GROSS",
        "scope": "PORTFOLIO",
        "scope_value": "",
        "warning_level": "0.25",
        "hard_level": "0.30",
        "active": "on",
        "reason": "Committee of 03/02.",
    }
    response = admin_client.post(f"/admin/risk/limit/{limit.pk}/change/", data)
    assert response.status_code == 302
    [entry] = entries(EntryKind.RULE_CHANGED)
    assert entry.snapshot["model"] == "risk.Limit" and entry.snapshot["changed"] == [
        "warning_level"
    ]
    assert entry.snapshot["old"]["warning_level"] == "0.2000"
    assert entry.snapshot["new"]["warning_level"] == "0.2500"
    assert entry.note == "Committee of 03/02." and entry.portfolio_id == desk.portfolio.pk
    assert Limit.objects.get().warning_level == D("0.25")
