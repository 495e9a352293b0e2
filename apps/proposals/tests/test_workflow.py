"""The four-eyes workflow through the services: decisions, refusals, execution, expiry."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from apps.journal.models import Entry, EntryKind
from apps.positions.models import Position, Trade
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal, ProposalStatus
from apps.proposals.services import (
    Terms,
    approve_proposal,
    execute_proposal,
    expire_proposals,
    modify_and_approve,
    reject_proposal,
)
from apps.proposals.tests.support import TODAY
from apps.risk.models import Limit

pytestmark = pytest.mark.django_db


def _kinds(proposal: Proposal) -> list[str]:
    return list(
        Entry.objects.filter(proposal_id=proposal.pk).order_by("seq").values_list("kind", flat=True)
    )


def test_creation_keeps_the_original_terms_and_journals(propose) -> None:
    proposal = propose()
    assert proposal.status == ProposalStatus.PENDING
    assert proposal.original_terms == {
        "side": "BUY",
        "quantity": "10.0000",
        "limit_price": None,
        "limit_rate": None,
    }
    assert _kinds(proposal) == [EntryKind.PROPOSAL_CREATED]


def test_another_person_approves(propose, cio_bob) -> None:
    proposal = approve_proposal(propose(), by=cio_bob, note="Agreed.")
    assert (proposal.status, proposal.decided_by) == (ProposalStatus.APPROVED, cio_bob)
    assert _kinds(proposal)[-1] == EntryKind.PROPOSAL_APPROVED


def test_it_refuses_self_approval(propose, pm_alice) -> None:
    proposal = propose(by=pm_alice)
    with pytest.raises(PermissionDenied, match="Four eyes"):
        approve_proposal(proposal, by=pm_alice)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert _kinds(proposal) == [EntryKind.PROPOSAL_CREATED]


def test_four_eyes_can_be_switched_off(propose, pm_alice, settings) -> None:
    settings.PROPOSALS_FOUR_EYES = False
    assert approve_proposal(propose(by=pm_alice), by=pm_alice).status == ProposalStatus.APPROVED


def test_a_viewer_cannot_decide(propose, viewer_dan) -> None:
    proposal = propose()
    for decide in (
        lambda: approve_proposal(proposal, by=viewer_dan),
        lambda: reject_proposal(proposal, by=viewer_dan, note="no"),
    ):
        with pytest.raises(PermissionDenied):
            decide()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


def test_reject_needs_a_note(propose, cio_bob) -> None:
    proposal = propose()
    with pytest.raises(ValidationError) as error:
        reject_proposal(proposal, by=cio_bob, note="   ")
    assert "needs a note" in str(error.value.message_dict["note"])
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    rejected = reject_proposal(proposal, by=cio_bob, note="Too much FX risk before Copom.")
    assert rejected.status == ProposalStatus.REJECTED
    assert rejected.decision_note == "Too much FX risk before Copom."


def test_modify_and_approve_keeps_both_versions(propose, cio_bob) -> None:
    proposal = propose(qty="10")
    with pytest.raises(ValidationError):
        modify_and_approve(proposal, by=cio_bob, terms=Terms("BUY", Decimal("5")), note="")
    modified = modify_and_approve(
        proposal, by=cio_bob, terms=Terms("BUY", Decimal("5")), note="Half size."
    )
    modified.refresh_from_db()
    assert modified.status == ProposalStatus.MODIFIED_APPROVED
    assert modified.original_terms["quantity"] == "10.0000"
    assert modified.quantity == Decimal("5")
    assert modified.was_modified


def test_a_decided_proposal_cannot_be_decided_again(propose, cio_bob) -> None:
    proposal = propose()
    approve_proposal(proposal, by=cio_bob)
    with pytest.raises(ValidationError, match="already approved"):
        reject_proposal(proposal, by=cio_bob, note="changed my mind")


def test_hard_limit_breach_needs_an_override_note(fund, propose, cio_bob) -> None:
    run_mtm(fund.portfolio, date(2025, 2, 3))
    Limit.objects.create(
        portfolio=fund.portfolio, metric="GROSS", warning_level="0.001", hard_level="0.002"
    )
    proposal = propose()  # 10 WDO ≈ R$ 0.55m on a R$ 100m fund: 0.55 % gross
    assert proposal.what_if["hard_breaches"] == [
        "Gross exposure (% of NAV) — Portfolio: 277% of the hard limit"
    ]
    assert proposal.what_if["before"]["gross_pct"] == 0
    with pytest.raises(ValidationError, match="override note"):
        approve_proposal(proposal, by=cio_bob)
    approve_proposal(proposal, by=cio_bob, override_note="CIO accepts for one day.")
    assert _kinds(proposal)[-2:] == [EntryKind.PROPOSAL_APPROVED, EntryKind.LIMIT_OVERRIDE]


def test_approve_and_execute_writes_trade_position_and_journal(propose, cio_bob, pm_alice) -> None:
    proposal = approve_proposal(propose(by=cio_bob), by=pm_alice)
    trade = execute_proposal(
        proposal, by=pm_alice, quantity=Decimal("10"), trade_date=TODAY, price=Decimal("5560")
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED
    assert list(proposal.executions.all()) == [trade]
    assert trade.position_id is not None
    assert Position.objects.get(pk=trade.position_id).quantity == Decimal("10")
    assert _kinds(proposal)[-2:] == [EntryKind.TRADE_RECORDED, EntryKind.PROPOSAL_EXECUTED]


def test_a_failed_execution_writes_nothing(propose, cio_bob, pm_alice) -> None:
    proposal = approve_proposal(propose(by=cio_bob), by=pm_alice)
    entries = Entry.objects.count()
    with pytest.raises(ValidationError, match="2025-02-08"):
        # A Saturday (in the future): the pre-trade check refuses, the execution rolls back.
        execute_proposal(
            proposal,
            by=pm_alice,
            quantity=Decimal("10"),
            trade_date=date(2025, 2, 8),
            price=Decimal("5560"),
        )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert not Trade.objects.exists() and not Position.objects.exists()
    # Only the refusal is journaled (the rule: a refused booking is on record).
    latest = Entry.objects.order_by("-seq").first()
    assert Entry.objects.count() == entries + 1 and latest is not None
    assert (latest.kind, latest.proposal_id) == (EntryKind.TRADE_REFUSED, proposal.pk)


def test_only_an_approved_proposal_executes(propose, pm_alice) -> None:
    with pytest.raises(ValidationError, match="only an approved proposal"):
        execute_proposal(
            propose(), by=pm_alice, quantity=Decimal("1"), trade_date=TODAY, price=Decimal("5560")
        )


def test_pending_proposals_expire_at_the_end_of_the_trading_day(propose, cio_bob) -> None:
    proposal = propose()
    before_close = timezone.make_aware(datetime(2025, 2, 4, 17, 59))
    assert expire_proposals(now=before_close) == []
    after_close = timezone.make_aware(datetime(2025, 2, 4, 18, 0))
    assert expire_proposals(now=after_close) == [proposal]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXPIRED
    assert _kinds(proposal)[-1] == EntryKind.PROPOSAL_EXPIRED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_exactly_one_wins(propose, cio_bob, pm_alice, django_user_model):
    from tests.support import make_user

    risk_eve = make_user("risk_eve", "approver")
    proposal = propose(by=pm_alice)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(user, action) -> None:
        try:
            barrier.wait()
            action(proposal, user)
            outcomes.append("won")
        except ValidationError as error:
            outcomes.append(f"lost: {error.messages[0]}")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(cio_bob, lambda p, u: approve_proposal(p, by=u))),
        threading.Thread(
            target=decide, args=(risk_eve, lambda p, u: reject_proposal(p, by=u, note="No."))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"]
    assert any("already" in o for o in outcomes)
    proposal.refresh_from_db()
    assert proposal.status in (ProposalStatus.APPROVED, ProposalStatus.REJECTED)
    decisions = Entry.objects.filter(
        proposal_id=proposal.pk, kind__in=[EntryKind.PROPOSAL_APPROVED, EntryKind.PROPOSAL_REJECTED]
    )
    assert decisions.count() == 1
