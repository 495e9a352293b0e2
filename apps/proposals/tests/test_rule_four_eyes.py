"""Four eyes on a signal rule's proposal (nobody proposed it): the person who takes it up by
approving it may not also execute it; and an approval's hard-limit override carries to the
execution only when someone other than the approver books it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.positions.models import Trade
from apps.positions.mtm import run_mtm
from apps.proposals.models import ProposalStatus
from apps.proposals.services import approve_proposal, execute_proposal, may_execute
from apps.proposals.tests.support import TODAY
from apps.risk.models import Limit
from apps.trading.pretrade import TradeRefused

pytestmark = pytest.mark.django_db
FILL: dict[str, Any] = {
    "quantity": Decimal("10"),
    "trade_date": TODAY,
    "price": Decimal("5575.65"),
}


def test_a_rule_proposal_cannot_be_approved_and_executed_by_one_person(
    propose, pm_alice, bo_carol
) -> None:
    proposal = approve_proposal(propose(by=None, source="wdo-trend"), by=pm_alice)
    assert not may_execute(proposal, pm_alice) and may_execute(proposal, bo_carol)
    with pytest.raises(PermissionDenied, match="someone else must execute it"):
        execute_proposal(proposal, by=pm_alice, **FILL)
    assert not Trade.objects.exists()
    trade = execute_proposal(proposal, by=bo_carol, **FILL)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED and trade.created_by == bo_carol


def test_the_blotter_offers_no_execute_to_the_one_who_took_it_up(
    client: Client, propose, pm_alice, cio_bob
) -> None:
    taken = approve_proposal(propose(by=None, source="wdo-trend"), by=pm_alice)
    manual = approve_proposal(propose(by=cio_bob), by=pm_alice)
    client.force_login(pm_alice)
    body = client.get(f"/blotter/{taken.pk}/").content.decode()
    assert f'action="/blotter/{taken.pk}/execute/"' not in body
    body = client.get(f"/blotter/{manual.pk}/").content.decode()
    assert f'action="/blotter/{manual.pk}/execute/"' in body  # proposer ≠ decider already


def test_the_four_eyes_setting_covers_rule_proposals_too(propose, pm_alice, settings) -> None:
    settings.PROPOSALS_FOUR_EYES = False
    proposal = approve_proposal(propose(by=None, source="wdo-trend"), by=pm_alice)
    assert execute_proposal(proposal, by=pm_alice, **FILL).created_by == pm_alice


def _breaching(fund, propose, by):  # type: ignore[no-untyped-def]
    run_mtm(fund.portfolio, date(2025, 2, 3))
    Limit.objects.create(
        portfolio=fund.portfolio, metric="GROSS", warning_level="0.001", hard_level="0.002"
    )
    return propose(by=by)


def test_an_approval_override_carries_to_another_persons_execution(
    fund, propose, cio_bob, pm_alice, bo_carol
) -> None:
    proposal = _breaching(fund, propose, pm_alice)
    approve_proposal(proposal, by=cio_bob, override_note="CIO accepts for one day.")
    trade = execute_proposal(proposal, by=pm_alice, **FILL)
    override = Entry.objects.filter(kind=EntryKind.LIMIT_OVERRIDE, trade_id=trade.pk).get()
    assert override.actor == cio_bob and override.note == "CIO accepts for one day."
    assert override.snapshot["source"] == f"approval of proposal #{proposal.pk}"


def test_a_breach_found_at_execution_without_an_override_is_refused(
    fund, propose, cio_bob, pm_alice
) -> None:
    proposal = approve_proposal(propose(by=pm_alice), by=cio_bob)  # no limit yet: no override
    _breaching(fund, propose, pm_alice)
    with pytest.raises(TradeRefused, match="needs an override"):
        execute_proposal(proposal, by=pm_alice, **FILL)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED and not Trade.objects.exists()
    refused = Entry.objects.get(kind=EntryKind.TRADE_REFUSED)
    assert refused.proposal_id == proposal.pk
