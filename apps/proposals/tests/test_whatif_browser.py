"""A proposal whose what-if breaches a hard limit, approved on the blotter in chromium.

The what-if is computed by `create_proposal`; approving without an override note is refused
(the proposal stays pending), with one it is approved and the override journaled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.journal.models import Entry, EntryKind
from apps.positions.mtm import run_mtm
from apps.proposals.models import Proposal, ProposalStatus
from apps.proposals.tests.test_blotter_page import Desk, desk  # noqa: F401  (the fund fixture)
from apps.risk.models import Limit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _trading_morning() -> None:
    """This test keeps the real clock (not the blotter's morning in conftest)."""


SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
OVERRIDE = "Risk accepts: the limit is being reviewed."
BREACH = "Gross exposure (% of NAV) — Portfolio: 192% of the hard limit"


def test_a_hard_breach_is_approved_only_with_an_override_note(
    desk: Desk,  # noqa: F811
    pm_alice: Any,
    cio_bob: Any,
    login: Any,
    live_server: Any,
) -> None:
    from playwright.sync_api import expect

    run_mtm(desk.portfolio, desk.trade_day)  # the fund, marked once (no position yet)
    Limit.objects.create(
        portfolio=desk.portfolio, metric="GROSS", warning_level="0.001", hard_level="0.002"
    )
    proposal = desk.propose(cio_bob, "PETR4", "BUY", "10000")  # R$ 385k on R$ 100m: 0.385 %
    assert proposal.what_if["hard_breaches"] == [BREACH]

    page = login(pm_alice)
    page.goto(f"{live_server.url}/blotter/")
    row = page.get_by_test_id(f"proposal-{proposal.pk}")
    expect(row).to_contain_text("hard limit")
    expect(row).to_contain_text(BREACH)
    expect(row.locator(".act-approve textarea[name=override_note]")).to_be_visible()

    row.locator(".act-approve input[name=note]").fill("Fine by me.")
    row.locator("[data-action=approve]").click()
    row = page.get_by_test_id(f"proposal-{proposal.pk}")
    expect(row.locator(".errorlist")).to_contain_text("approving it needs an override note")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert not Entry.objects.filter(proposal_id=proposal.pk, kind=EntryKind.LIMIT_OVERRIDE).exists()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "whatif-refused.png"), full_page=True)

    row.locator(".act-approve input[name=note]").fill("Fine by me.")
    row.locator(".act-approve textarea[name=override_note]").fill(
        "Risk accepts: the limit is being reviewed."
    )
    row.locator("[data-action=approve]").click()
    expect(page.get_by_test_id(f"proposal-{proposal.pk}")).to_have_attribute(
        "data-status", ProposalStatus.APPROVED
    )
    approved = Proposal.objects.get(pk=proposal.pk)
    assert (approved.status, approved.decided_by) == (ProposalStatus.APPROVED, pm_alice)
    override = Entry.objects.get(proposal_id=proposal.pk, kind=EntryKind.LIMIT_OVERRIDE)
    assert (override.actor, override.note) == (
        pm_alice,
        "Risk accepts: the limit is being reviewed.",
    )
