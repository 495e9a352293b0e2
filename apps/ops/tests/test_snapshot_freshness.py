"""Nothing silently stale beyond risk (issue 19 §1): a backdated trade makes the close's
compliance checks, attribution snapshot, morning pack and a pending proposal's what-if (all
measured on that close) say they are stale, on the page and in the API, until recomputed."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from apps.compliance.services import ensure_default_rules, run_compliance
from apps.ops.tests.support import D3, D4, propose_two_more, remark_trade
from apps.proposals.services import refresh_what_if
from tests.support import Book

# `fund` and `alice` are conftest.py's: WDOH25 long 10 marked, risked and attributed through
# D3 (the EOD), the pack of D4 out; the clock at 08:00 of D4.


def api_for(fund: Book) -> APIClient:
    client = APIClient()
    client.force_authenticate(fund.user)
    return client


def test_a_backdated_trade_makes_the_closes_snapshots_stale_until_recomputed(
    fund: Book, alice: Client
) -> None:
    ensure_default_rules(fund.portfolio)
    run_compliance(fund.portfolio, D3)
    api, code = api_for(fund), fund.portfolio.code
    assert api.get("/api/compliance/", {"portfolio": code}).json()["stale"] is False
    assert api.get("/api/morning-pack/latest/", {"portfolio": code}).json()["stale"] is False
    snapshot = api.get("/api/attribution/snapshot/", {"portfolio": code}).json()
    assert snapshot["stale"] is False

    remark_trade(fund, "5")  # a trade dated D3 (re-marked at once): the close moved

    compliance = api.get("/api/compliance/", {"portfolio": code}).json()
    assert compliance["stale"] is True and compliance["stale_reason"].startswith("book changed")
    pack = api.get("/api/morning-pack/latest/", {"portfolio": code}).json()
    assert pack["stale"] is True and "book changed" in pack["stale_reason"]
    assert api.get("/api/attribution/snapshot/", {"portfolio": code}).json()["stale"] is True
    page = alice.get(f"/compliance/?portfolio={code}").content.decode()
    assert 'data-testid="stale"' in page and "Recompute now" in page
    assert 'data-testid="stale"' in alice.get(f"/morning/?portfolio={code}").content.decode()

    done = alice.post("/compliance/recompute/", {"portfolio": code, "date": D3.isoformat()})
    assert done.status_code == 302
    assert api.get("/api/compliance/", {"portfolio": code}).json()["stale"] is False
    assert 'data-testid="stale"' not in alice.get(f"/compliance/?portfolio={code}").content.decode()


def test_a_backdated_trade_makes_a_pending_proposals_what_if_stale_until_measured_again(
    fund: Book, alice: Client, cio_bob: Any
) -> None:
    proposal = propose_two_more(fund, D4, fund.user)
    refresh_what_if(proposal)
    api, code = api_for(fund), fund.portfolio.code
    row = api.get(f"/api/proposals/{proposal.pk}/").json()
    assert row["what_if_stale"] is False and row["what_if_stale_reason"] == ""

    fund.trade("WDOH25", "BUY", "1", D4, price="5560.00")  # today's: not in the close's book
    assert api.get(f"/api/proposals/{proposal.pk}/").json()["what_if_stale"] is False
    remark_trade(fund, "5")  # dated D3, the close the what-if measured

    row = api.get(f"/api/proposals/{proposal.pk}/").json()
    assert row["what_if_stale"] is True and row["what_if_stale_reason"].startswith("book changed")
    blotter = alice.get(f"/blotter/?portfolio={code}").content.decode()
    assert 'data-testid="what-if-stale"' in blotter and "Measure again" in blotter

    assert alice.post(f"/blotter/{proposal.pk}/what-if/").status_code == 302
    assert api.get(f"/api/proposals/{proposal.pk}/").json()["what_if_stale"] is False
