"""The blotter and proposal pages: inline (htmx) decisions, refusals, execution, new proposals.

Every test asserts the response and the database: a refused action leaves the proposal as it
was and writes no journal entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.journal.models import Entry, EntryKind
from apps.marketdata.calendar import next_business_day, previous_business_day
from apps.marketdata.models import Instrument
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import Position, Trade
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal, ProposalStatus
from apps.proposals.services import Terms, create_proposal
from apps.risk.models import Limit

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BREACH = "VaR 99% 112% of limit"


@dataclass
class Desk:
    """A fund, its strategy, and proposals for the next session (never expired mid-test)."""

    book: Any
    day: date  # the trading day proposals are for
    trade_day: date  # the latest business day up to today: a valid execution date

    @property
    def portfolio(self) -> Any:
        return self.book.portfolio

    def propose(
        self,
        by: Any,
        ticker: str = "PETR4",
        side: str = "BUY",
        qty: str = "100",
        *,
        limit_price: str | None = None,
        limit_rate: str | None = None,
        source: str = "manual",
        rationale: str = "Cheap against the sector after the guidance cut.",
    ) -> Proposal:
        return create_proposal(
            portfolio=self.portfolio,
            strategy=self.book.strategy,
            instrument=Instrument.objects.get(ticker=ticker),
            terms=Terms(
                side,
                Decimal(qty),
                Decimal(limit_price) if limit_price else None,
                Decimal(limit_rate) if limit_rate else None,
            ),
            rationale=rationale,
            business_date=self.day,
            by=by,
            source=source,
        )


@pytest.fixture
def desk(book_at: Any) -> Desk:
    today = timezone.localdate()
    trade_day = previous_business_day(today + timedelta(days=1))
    book = book_at(trade_day, "DI1F30")
    InstrumentFactory.create(equity=True, ticker="PETR4")
    book.price("PETR4", trade_day, "38.50")
    book.price("DI1F30", trade_day, "60123.45", "0.1350")
    return Desk(book, next_business_day(today), trade_day)


def _entries(proposal: Proposal) -> list[str]:
    return list(
        Entry.objects.filter(proposal_id=proposal.pk).order_by("seq").values_list("kind", flat=True)
    )


def _post(client: Any, user: Any, name: str, proposal: Proposal, data: dict, **extra: Any) -> Any:
    client.force_login(user)
    return client.post(reverse(f"proposals:{name}", args=[proposal.pk]), data, **extra)


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["pm_alice", "cio_bob", "bo_carol", "viewer_dan"])
def test_every_role_sees_the_pending_proposals(client, desk, pm_alice, who, request) -> None:
    desk.propose(pm_alice, rationale="Earnings beat; the market has not priced the buyback.")
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("proposals:blotter"))
    assert response.status_code == 200
    assert b"Earnings beat; the market has not priced the buyback." in response.content
    assert b"PETR4" in response.content


def test_a_viewer_sees_no_actions(client, desk, pm_alice, viewer_dan) -> None:
    desk.propose(pm_alice)
    client.force_login(viewer_dan)
    content = client.get(reverse("proposals:blotter")).content.decode()
    assert "Read-only" in content
    assert 'data-action="approve"' not in content
    assert "New proposal" not in content


def test_rate_quoted_terms_read_as_pu_and_rate(client, desk, pm_alice, cio_bob) -> None:
    desk.propose(pm_alice, "DI1F30", "BUY", "50", limit_rate="0.1350")
    client.force_login(cio_bob)
    content = client.get(reverse("proposals:blotter")).content.decode()
    assert "long PU / dar taxa" in content
    assert "13.500 %" in content


def test_a_rule_proposal_shows_the_rule_as_proposer(client, desk, cio_bob) -> None:
    desk.propose(None, "DI1F30", "SELL", "20", source="di1_carry", limit_rate="0.1400")
    client.force_login(cio_bob)
    content = client.get(reverse("proposals:blotter")).content.decode()
    assert "di1_carry" in content
    assert "short PU / tomar taxa" in content
    assert '<span class="muted">rule</span>' in content


def test_the_portfolio_selector_swaps_the_blotter(client, desk, pm_alice, cio_bob) -> None:
    desk.propose(pm_alice)
    client.force_login(cio_bob)
    url = f"{reverse('proposals:blotter')}?portfolio={desk.portfolio.code}"
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'data-testid="pending"' in response.content


# --- approve ---------------------------------------------------------------------------------


def test_an_approver_approves_inline(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    response = _post(client, cio_bob, "approve", proposal, {"note": "Agreed."}, **HTMX)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b"<tbody")
    assert b"approved" in response.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.decision_note) == (
        ProposalStatus.APPROVED,
        cio_bob,
        "Agreed.",
    )
    approved = Entry.objects.get(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_APPROVED)
    assert approved.actor == cio_bob


def test_the_proposer_cannot_approve_their_own(client, desk, pm_alice) -> None:
    proposal = desk.propose(pm_alice)
    before = Entry.objects.count()
    response = _post(client, pm_alice, "approve", proposal, {}, **HTMX)
    assert response.status_code == 200
    assert b"Four eyes: you proposed this trade, so someone else must decide it." in (
        response.content
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert Entry.objects.count() == before


def test_the_proposer_is_told_instead_of_shown_buttons(client, desk, pm_alice) -> None:
    desk.propose(pm_alice)
    client.force_login(pm_alice)
    content = client.get(reverse("proposals:blotter")).content.decode()
    assert "another manager or approver decides it" in content
    assert 'data-action="approve"' not in content


@pytest.mark.parametrize("who", ["viewer_dan", "bo_carol"])
def test_a_role_that_does_not_decide_is_refused(client, desk, pm_alice, who, request) -> None:
    proposal = desk.propose(pm_alice)
    before = Entry.objects.count()
    user = request.getfixturevalue(who)
    response = _post(client, user, "approve", proposal, {"note": "sure"}, **HTMX)
    assert b"Only a manager or an approver may decide a proposal." in response.content
    plain = _post(client, user, "approve", proposal, {"note": "sure"})
    assert plain.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert Entry.objects.count() == before


def test_a_hard_breach_shows_in_red_with_the_override_field(
    client, desk, pm_alice, cio_bob
) -> None:
    proposal = desk.propose(pm_alice)
    proposal.what_if = {
        "asof": desk.trade_day.isoformat(),
        "before": {"var99": 1_200_000, "dv01_total": -1500, "gross_pct": 0.85},
        "after": {"var99": 1_900_000, "dv01_total": -2250, "gross_pct": 1.02},
        "hard_breaches": [BREACH],
    }
    proposal.save(update_fields=["what_if"])
    client.force_login(cio_bob)
    page = client.get(reverse("proposals:blotter")).content.decode()
    assert '<span class="badge bad">hard limit</span> VaR 99% 112% of limit' in page
    assert "1,200,000 → <strong>1,900,000</strong>" in page
    assert "85.0 % → <strong>102.0 %</strong>" in page
    assert 'name="override_note"' in page
    assert "override note required" in page


def test_a_hard_breach_needs_an_override_note(client, desk, pm_alice, cio_bob) -> None:
    run_mtm(desk.portfolio, desk.trade_day)
    Limit.objects.create(
        portfolio=desk.portfolio, metric="GROSS", warning_level="0.0005", hard_level="0.001"
    )
    proposal = desk.propose(pm_alice, qty="10000")  # R$ 385k on a R$ 100m fund: 0.385 %
    assert proposal.what_if["hard_breaches"]
    before = Entry.objects.count()

    refused = _post(client, cio_bob, "approve", proposal, {"note": "ok"}, **HTMX)
    assert b"approving it needs an override note" in refused.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert Entry.objects.count() == before

    data = {"note": "ok", "override_note": "CIO accepts: the hedge lands tomorrow."}
    _post(client, cio_bob, "approve", proposal, data, **HTMX)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert _entries(proposal)[-2:] == [EntryKind.PROPOSAL_APPROVED, EntryKind.LIMIT_OVERRIDE]
    override = Entry.objects.get(proposal_id=proposal.pk, kind=EntryKind.LIMIT_OVERRIDE)
    assert override.actor == cio_bob
    assert override.note == "CIO accepts: the hedge lands tomorrow."
    assert override.snapshot == {"hard_breaches": proposal.what_if["hard_breaches"]}


def test_an_already_decided_proposal_says_so(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    _post(client, cio_bob, "reject", proposal, {"note": "Too big."}, **HTMX)
    response = _post(client, cio_bob, "approve", proposal, {}, **HTMX)
    assert b"is already rejected (by cio_bob); nothing was changed." in response.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED


# --- reject ----------------------------------------------------------------------------------


def test_reject_without_a_note_is_an_inline_error(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    before = Entry.objects.count()
    response = _post(client, cio_bob, "reject", proposal, {"note": "   "}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<ul class="errorlist"' in content
    assert "Say why: rejecting a proposal needs a note." in content
    assert "<details open>" in content  # the reject form stays open on its error
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_note) == (ProposalStatus.PENDING, "")
    assert Entry.objects.count() == before


def test_reject_without_a_note_and_without_javascript(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    response = _post(client, cio_bob, "reject", proposal, {}, follow=True)
    assert b"Say why: rejecting a proposal needs a note." in response.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


def test_reject_with_a_note(client, desk, cio_bob) -> None:
    proposal = desk.propose(None, "DI1F30", "SELL", "20", source="di1_carry")
    response = _post(client, cio_bob, "reject", proposal, {"note": "Carry too thin."}, **HTMX)
    assert b"rejected" in response.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_note) == (
        ProposalStatus.REJECTED,
        "Carry too thin.",
    )
    assert _entries(proposal)[-1] == EntryKind.PROPOSAL_REJECTED


# --- modify ----------------------------------------------------------------------------------


def test_modify_and_approve_keeps_both_versions(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice, "DI1F30", "BUY", "50", limit_rate="0.1350")
    data = {"side": "BUY", "quantity": "30", "limit_rate": "13.45", "note": "Half size."}
    response = _post(client, cio_bob, "modify", proposal, data, **HTMX)
    content = response.content.decode()
    assert 'data-testid="terms-diff"' in content
    assert "13.500 %" in content and "13.450 %" in content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.MODIFIED_APPROVED
    assert (proposal.quantity, proposal.limit_rate) == (Decimal("30"), Decimal("0.1345"))
    assert Decimal(proposal.original_terms["limit_rate"]) == Decimal("0.135")
    assert Decimal(proposal.original_terms["quantity"]) == 50
    modified = Entry.objects.get(proposal_id=proposal.pk, kind=EntryKind.PROPOSAL_MODIFIED)
    assert modified.snapshot["original"] == proposal.original_terms


def test_modify_without_a_note_changes_nothing(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    data = {"side": "SELL", "quantity": "10", "note": ""}
    response = _post(client, cio_bob, "modify", proposal, data, **HTMX)
    assert b"Say why: modifying a proposal needs a note." in response.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.side, proposal.quantity) == (
        ProposalStatus.PENDING,
        "BUY",
        Decimal("100"),
    )


# --- execute ---------------------------------------------------------------------------------


def _approved(desk: Desk, pm_alice: Any, cio_bob: Any, **kw: Any) -> Proposal:
    from apps.proposals.services import approve_proposal

    return approve_proposal(desk.propose(pm_alice, **kw), by=cio_bob)


def test_execute_creates_the_trade_position_and_journal(client, desk, pm_alice, cio_bob) -> None:
    proposal = _approved(desk, pm_alice, cio_bob, limit_price="38.40")
    data = {"quantity": "60", "price": "38.35", "trade_date": desk.trade_day, "fees": "12.50"}
    response = _post(client, pm_alice, "execute", proposal, data, **HTMX)
    assert response.status_code == 200
    trade = proposal.executions.get()
    assert (trade.quantity, trade.price, trade.fees) == (
        Decimal("60"),
        Decimal("38.35"),
        Decimal("12.50"),
    )
    assert trade.position_id is not None
    position = Position.objects.get(pk=trade.position_id)
    assert position.quantity == Decimal("60")
    assert f"/book/position/{position.pk}/".encode() in response.content
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.EXECUTED
    kinds = _entries(proposal)
    assert EntryKind.TRADE_RECORDED in kinds
    assert kinds[-1] == EntryKind.PROPOSAL_EXECUTED
    assert Entry.objects.filter(position_id=position.pk, kind=EntryKind.POSITION_OPENED).exists()


def test_execute_a_rate_quoted_proposal_by_rate(client, desk, pm_alice, cio_bob, bo_carol) -> None:
    proposal = _approved(desk, pm_alice, cio_bob, ticker="DI1F30", qty="10", limit_rate="0.135")
    data = {"quantity": "10", "rate": "13.48", "trade_date": desk.trade_day}
    _post(client, bo_carol, "execute", proposal, data, **HTMX)
    trade = proposal.executions.get()
    assert trade.rate == Decimal("0.1348")
    assert trade.price > 0


def test_execute_errors_are_shown_and_nothing_is_recorded(client, desk, pm_alice, cio_bob) -> None:
    proposal = _approved(desk, pm_alice, cio_bob)
    before = Entry.objects.count()
    too_many = {"quantity": "101", "price": "38", "trade_date": desk.trade_day}
    response = _post(client, pm_alice, "execute", proposal, too_many, **HTMX)
    assert b"Executed quantity must be between 0 and 100" in response.content
    future = timezone.localdate() + timedelta(days=7)
    response = _post(
        client, pm_alice, "execute", proposal, {"quantity": "10", "trade_date": future}, **HTMX
    )
    content = response.content.decode()
    assert "is in the future" in content
    assert "Give a price" in content
    assert not proposal.executions.exists()
    assert Entry.objects.count() == before
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED


def test_an_approver_may_not_execute(client, desk, pm_alice, cio_bob) -> None:
    proposal = _approved(desk, pm_alice, cio_bob)
    data = {"quantity": "10", "price": "38", "trade_date": desk.trade_day}
    response = _post(client, cio_bob, "execute", proposal, data, **HTMX)
    assert b"Only a manager or back office may execute a proposal." in response.content
    assert not Trade.objects.exists()


# --- history ---------------------------------------------------------------------------------


def test_history_lists_decisions_with_decider_and_note(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    _post(client, cio_bob, "reject", proposal, {"note": "Liquidity too thin today."}, **HTMX)
    client.force_login(pm_alice)
    content = client.get(reverse("proposals:blotter")).content.decode()
    history = content.split('data-testid="history"')[1]
    assert "Rejected" in history
    assert "Bob CIO" in history
    assert "Liquidity too thin today." in history


# --- new proposal ----------------------------------------------------------------------------


def _new(desk: Desk, **overrides: Any) -> dict[str, Any]:
    data = {
        "portfolio": desk.portfolio.pk,
        "strategy": desk.book.strategy.pk,
        "instrument": Instrument.objects.get(ticker="DI1F30").pk,
        "side": "SELL",
        "quantity": "25",
        "limit_rate": "13.9",
        "conviction": "3",
        "business_date": desk.day.isoformat(),
        "rationale": "Copom minutes hawkish: pay the belly.",
    }
    return {**data, **overrides}


def test_a_manager_proposes(client, desk, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.post(reverse("proposals:create"), _new(desk))
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert (proposal.status, proposal.proposed_by, proposal.side) == (
        ProposalStatus.PENDING,
        pm_alice,
        "SELL",
    )
    assert (proposal.limit_rate, proposal.conviction) == (Decimal("0.139"), 3)
    assert _entries(proposal) == [EntryKind.PROPOSAL_CREATED]


def test_a_proposal_without_rationale_is_refused(client, desk, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.post(reverse("proposals:create"), _new(desk, rationale=" "))
    assert response.status_code == 200
    assert b"Say why: a proposal needs a rationale." in response.content
    assert not Proposal.objects.exists()
    assert not Entry.objects.filter(kind=EntryKind.PROPOSAL_CREATED).exists()


def test_a_viewer_cannot_propose(client, desk, viewer_dan) -> None:
    client.force_login(viewer_dan)
    response = client.post(reverse("proposals:create"), _new(desk))
    assert response.status_code == 403
    assert not Proposal.objects.exists()


# --- one proposal ------------------------------------------------------------------------------


def test_the_proposal_page_shows_terms_and_journal(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice, "DI1F30", "BUY", "50", limit_rate="0.1350")
    _post(client, cio_bob, "modify", proposal, {"side": "BUY", "quantity": "40", "note": "Less."})
    response = client.get(reverse("proposals:detail", args=[proposal.pk]))
    content = response.content.decode()
    assert "Modified to" in content
    assert 'data-testid="journal-entries"' in content
    assert "Proposal modified and approved" in content
    assert "Add note" in content


def test_add_a_note_to_a_proposal(client, desk, pm_alice, cio_bob) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(cio_bob)
    url = reverse("proposals:note", args=[proposal.pk])
    empty = client.post(url, {"note": " "})
    assert b"an empty note is not recorded" in empty.content
    assert not Entry.objects.filter(kind=EntryKind.NOTE).exists()
    client.post(url, {"note": "Call the broker at 10:00."})
    note = Entry.objects.get(kind=EntryKind.NOTE)
    assert (note.proposal_id, note.actor, note.portfolio_id) == (
        proposal.pk,
        cio_bob,
        desk.portfolio.pk,
    )


def test_a_viewer_cannot_add_a_note(client, desk, pm_alice, viewer_dan) -> None:
    proposal = desk.propose(pm_alice)
    client.force_login(viewer_dan)
    page = client.get(reverse("proposals:detail", args=[proposal.pk])).content.decode()
    assert "Add note" not in page
    response = client.post(reverse("proposals:note", args=[proposal.pk]), {"note": "x"})
    assert response.status_code == 403
    assert not Entry.objects.filter(kind=EntryKind.NOTE).exists()


def test_the_blotter_query_count_does_not_grow_with_rows(client, desk, pm_alice, cio_bob) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.proposals.services import approve_proposal, reject_proposal

    def count() -> int:
        client.force_login(cio_bob)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("proposals:blotter")).status_code == 200
        return len(queries)

    desk.propose(pm_alice)
    approve_proposal(desk.propose(pm_alice, "DI1F30", limit_rate="0.135"), by=cio_bob)
    few = count()
    for _ in range(4):
        desk.propose(pm_alice)
        reject_proposal(desk.propose(pm_alice), by=cio_bob, note="No.")
    assert count() == few
