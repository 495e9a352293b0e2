"""The back office: proposals read-only, workflow through actions that call the services."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin import helpers
from django.urls import reverse

from apps.journal.models import Entry, EntryKind
from apps.proposals.models import Proposal, ProposalStatus, SignalRule
from apps.proposals.tests import test_blotter_page
from apps.proposals.tests.test_blotter_page import Desk
from tests.support import make_user

pytestmark = pytest.mark.django_db
desk = test_blotter_page.desk  # the fund fixture, shared with the page tests
CHANGELIST = reverse("admin:proposals_proposal_changelist")


@pytest.fixture
def cio_admin(db: None) -> Any:
    """The CIO with back-office access: an approver who may also open the admin."""
    return make_user("cio_admin", "approver", staff=True, is_superuser=True)


def _act(client: Any, action: str, proposals: list[Proposal], **extra: str) -> Any:
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [p.pk for p in proposals], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_proposals_are_listed_and_read_only(client, desk: Desk, pm_alice, cio_admin) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(cio_admin)
    listing = client.get(CHANGELIST, {"q": "PETR4"})
    assert listing.status_code == 200
    assert b"PETR4" in listing.content
    page = client.get(reverse("admin:proposals_proposal_change", args=[proposal.pk]))
    assert page.status_code == 200
    assert b'name="rationale"' not in page.content  # shown, not editable
    assert client.get(reverse("admin:proposals_proposal_add")).status_code == 403


def test_approve_action_calls_the_service(client, desk: Desk, pm_alice, cio_admin) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(cio_admin)
    response = _act(client, "approve_selected", [proposal])
    assert f"Approved: #{proposal.pk}.".encode() in response.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == (ProposalStatus.APPROVED, cio_admin)
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_APPROVED).exists()


def test_approve_action_keeps_four_eyes(client, desk: Desk, cio_admin) -> None:
    own = desk.propose(cio_admin)
    client.force_login(cio_admin)
    response = _act(client, "approve_selected", [own])
    assert b"Four eyes" in response.content
    own.refresh_from_db()
    assert own.status == ProposalStatus.PENDING


def test_reject_action_asks_for_a_note(client, desk: Desk, pm_alice, cio_admin) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(cio_admin)
    page = _act(client, "reject_selected", [proposal])
    assert b"Why reject?" in page.content
    empty = _act(client, "reject_selected", [proposal], post="yes", note=" ")
    assert b"Say why: rejecting a proposal needs a note." in empty.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    done = _act(client, "reject_selected", [proposal], post="yes", note="Not today.")
    assert f"Rejected: #{proposal.pk}.".encode() in done.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_note) == (ProposalStatus.REJECTED, "Not today.")


def test_expire_action_runs_without_a_selection(client, desk: Desk, pm_alice, cio_admin) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(cio_admin)
    after_close = datetime.combine(desk.day, datetime.min.time()).replace(
        hour=19, tzinfo=ZoneInfo("America/Sao_Paulo")
    )
    with time_machine.travel(after_close):
        response = client.post(CHANGELIST, {"action": "expire_past", "index": 0}, follow=True)
    assert f"Expired 1: #{proposal.pk}.".encode() in response.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXPIRED
    assert Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_EXPIRED).exists()


def test_journal_admin_is_read_only(client, desk: Desk, pm_alice, cio_admin) -> None:
    desk.propose(pm_alice)
    entry = Entry.objects.first()
    assert entry is not None
    client.force_login(cio_admin)
    assert client.get(reverse("admin:journal_entry_changelist")).status_code == 200
    change = client.get(reverse("admin:journal_entry_change", args=[entry.pk]))
    assert change.status_code == 200
    assert b'name="note"' not in change.content
    assert client.get(reverse("admin:journal_entry_add")).status_code == 403
    delete = client.post(reverse("admin:journal_entry_delete", args=[entry.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert Entry.objects.filter(pk=entry.pk).exists()


def test_signal_rule_admin_lists_the_registry(client, desk: Desk, cio_admin) -> None:
    client.force_login(cio_admin)
    page = client.get(reverse("admin:proposals_signalrule_add"))
    assert b"di1_carry" in page.content
    assert b"Receive (long PU) the ~1-year DI1" in page.content
    response = client.post(
        reverse("admin:proposals_signalrule_add"),
        {
            "portfolio": desk.portfolio.pk,
            "strategy": desk.book.strategy.pk,
            "name": "di1_carry",
            "enabled": "on",
            "size": "20",
            "params": '{"min_spread_bp": 60}',
        },
    )
    assert response.status_code == 302
    rule = SignalRule.objects.get()
    assert (rule.name, rule.params) == ("di1_carry", {"min_spread_bp": 60})
    unknown = client.post(
        reverse("admin:proposals_signalrule_add"),
        {
            "portfolio": desk.portfolio.pk,
            "strategy": desk.book.strategy.pk,
            "name": "astrology",
            "size": "1",
            "params": "{}",
        },
    )
    assert b"Select a valid choice" in unknown.content
    client.post(
        reverse("admin:proposals_signalrule_changelist"),
        {"action": "disable", helpers.ACTION_CHECKBOX_NAME: [rule.pk]},
    )
    rule.refresh_from_db()
    assert rule.enabled is False
