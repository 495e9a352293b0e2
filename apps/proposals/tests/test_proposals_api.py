"""The proposals API: the same services as the blotter, refusals as 403/400 with their words."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.journal.models import Entry, EntryKind
from apps.positions.models import Position, Trade
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal, ProposalStatus
from apps.proposals.services import approve_proposal
from apps.proposals.tests import test_blotter_page
from apps.proposals.tests.test_blotter_page import Desk
from apps.risk.models import Limit

pytestmark = pytest.mark.django_db
desk = test_blotter_page.desk  # the fund fixture, shared with the page tests


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _action(user: Any, proposal: Proposal, name: str, data: dict[str, Any]) -> Any:
    return _api(user).post(f"/api/proposals/{proposal.pk}/{name}/", data, format="json")


def test_list_filters_by_portfolio_and_status(desk: Desk, pm_alice, cio_bob, viewer_dan) -> None:
    pending = desk.propose(pm_alice)
    approve_proposal(desk.propose(pm_alice, "DI1F30", limit_rate="0.135"), by=cio_bob)
    response = _api(viewer_dan).get(
        "/api/proposals/", {"portfolio": desk.portfolio.code, "status": "PENDING"}
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [pending.pk]
    assert rows[0]["ticker"] == "PETR4"
    assert rows[0]["proposed_by"] == "pm_alice"
    assert rows[0]["original_terms"]["side"] == "BUY"
    other = _api(viewer_dan).get("/api/proposals/", {"portfolio": "nope"})
    assert other.status_code == 404  # unknown and not granted alike (issue 17)


def test_a_bad_status_filter_is_a_400(desk: Desk, viewer_dan) -> None:
    response = _api(viewer_dan).get("/api/proposals/", {"status": "maybe"})
    assert response.status_code == 400
    assert "status" in response.json()


def _new(desk: Desk, **overrides: Any) -> dict[str, Any]:
    data = {
        "portfolio": desk.portfolio.code,
        "strategy": desk.book.strategy.code,
        "instrument": "DI1F30",
        "side": "SELL",
        "quantity": "25",
        "limit_rate": "0.139",
        "rationale": "Copom minutes hawkish: pay the belly.",
        "conviction": 3,
        "business_date": desk.day.isoformat(),
    }
    return {**data, **overrides}


def test_create(desk: Desk, pm_alice) -> None:
    response = _api(pm_alice).post("/api/proposals/", _new(desk), format="json")
    assert response.status_code == 201, response.json()
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert (proposal.status, proposal.proposed_by, proposal.limit_rate) == (
        ProposalStatus.PENDING,
        pm_alice,
        Decimal("0.139"),
    )
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_CREATED).exists()


def test_create_refusals(desk: Desk, pm_alice, viewer_dan) -> None:
    refused = _api(viewer_dan).post("/api/proposals/", _new(desk), format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only a manager or an approver may propose a trade."
    invalid = _api(pm_alice).post("/api/proposals/", _new(desk, rationale=""), format="json")
    assert invalid.status_code == 400
    assert invalid.json() == {"rationale": ["Say why: a proposal needs a rationale."]}
    unknown = _api(pm_alice).post("/api/proposals/", _new(desk, strategy="fx"), format="json")
    assert unknown.status_code == 400
    assert "strategy" in unknown.json()
    assert not Proposal.objects.exists()


def test_approve(desk: Desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    response = _action(cio_bob, proposal, "approve", {"note": "Agreed."})
    assert response.status_code == 200
    assert response.json()["status"] == ProposalStatus.APPROVED
    assert response.json()["decided_by"] == "cio_bob"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_APPROVED).exists()


def test_self_approval_is_a_403_with_the_four_eyes_message(desk: Desk, pm_alice) -> None:
    proposal = desk.propose(pm_alice)
    before = Entry.objects.count()
    response = _action(pm_alice, proposal, "approve", {})
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Four eyes: you proposed this trade, so someone else must decide it."
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert Entry.objects.count() == before


def test_a_viewer_deciding_is_a_403(desk: Desk, pm_alice, viewer_dan) -> None:
    proposal = desk.propose(pm_alice)
    response = _action(viewer_dan, proposal, "approve", {})
    assert response.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


def test_reject_without_a_note_is_a_400_on_note(desk: Desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    before = Entry.objects.count()
    for body in ({}, {"note": "  "}):
        response = _action(cio_bob, proposal, "reject", body)
        assert response.status_code == 400
        assert response.json() == {"note": ["Say why: rejecting a proposal needs a note."]}
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert Entry.objects.count() == before
    ok = _action(cio_bob, proposal, "reject", {"note": "Too big for today's liquidity."})
    assert ok.status_code == 200
    assert ok.json()["decision_note"] == "Too big for today's liquidity."


def test_modify_keeps_both_versions(desk: Desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice, "DI1F30", "BUY", "50", limit_rate="0.135")
    body = {"side": "BUY", "quantity": "30", "limit_rate": "0.1345", "note": "Half size."}
    response = _action(cio_bob, proposal, "modify", body)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == ProposalStatus.MODIFIED_APPROVED
    assert Decimal(data["quantity"]) == 30
    assert Decimal(data["original_terms"]["quantity"]) == 50
    no_note = _action(cio_bob, desk.propose(pm_alice), "modify", {"side": "BUY", "quantity": 1})
    assert no_note.status_code == 400
    assert "note" in no_note.json()


def test_hard_breach_needs_an_override_note(desk: Desk, pm_alice, cio_bob) -> None:
    run_mtm(desk.portfolio, desk.trade_day)
    Limit.objects.create(
        portfolio=desk.portfolio, metric="GROSS", warning_level="0.0005", hard_level="0.001"
    )
    proposal = desk.propose(pm_alice, qty="10000")
    refused = _action(cio_bob, proposal, "approve", {"note": "ok"})
    assert refused.status_code == 400
    assert "override_note" in refused.json()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    ok = _action(cio_bob, proposal, "approve", {"override_note": "One day only."})
    assert ok.status_code == 200
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.LIMIT_OVERRIDE).exists()


def test_execute(desk: Desk, pm_alice, cio_bob, bo_carol) -> None:
    proposal = approve_proposal(desk.propose(pm_alice), by=cio_bob)
    body = {"quantity": "40", "price": "38.35", "trade_date": desk.trade_day.isoformat()}
    response = _action(bo_carol, proposal, "execute", {**body, "fees": "5.00"})
    assert response.status_code == 201, response.json()
    trade = Trade.objects.get(pk=response.json()["id"])
    assert (trade.quantity, trade.fees) == (Decimal("40"), Decimal("5"))
    assert list(proposal.executions.all()) == [trade]
    assert response.json()["position"] == trade.position_id
    assert trade.position_id is not None
    assert Position.objects.get(pk=trade.position_id).quantity == 40
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_EXECUTED).exists()


def test_execute_refusals(desk: Desk, pm_alice, cio_bob) -> None:
    proposal = approve_proposal(desk.propose(pm_alice), by=cio_bob)
    body = {"quantity": "400", "price": "38.35", "trade_date": desk.trade_day.isoformat()}
    too_many = _action(pm_alice, proposal, "execute", body)
    assert too_many.status_code == 400
    assert "quantity" in too_many.json()
    not_executor = _action(cio_bob, proposal, "execute", {**body, "quantity": "1"})
    assert not_executor.status_code == 403
    no_price = _action(pm_alice, proposal, "execute", {**body, "quantity": "1", "price": None})
    assert no_price.status_code == 400
    assert "price" in no_price.json()
    assert not Trade.objects.exists()
    pending = desk.propose(pm_alice)
    not_approved = _action(pm_alice, pending, "execute", {**body, "quantity": "1"})
    assert not_approved.status_code == 400
    assert "only an approved proposal can be executed" in str(not_approved.json())


def test_the_schema_lists_the_workflow(viewer_dan) -> None:
    response = _api(viewer_dan).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for action in ("approve", "reject", "modify", "execute"):
        assert f"/api/proposals/{{id}}/{action}/" in paths
    assert "/api/journal/" in paths
    assert "/api/journal/notes/" in paths
