"""The journal API: read-only entries with filters, notes through `add_note`."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.journal.models import Entry, EntryKind
from apps.journal.services import record
from apps.positions.tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trading_morning() -> None:
    """The journal's tests keep the real clock (not the blotter's morning in conftest)."""


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _write(kind: str = EntryKind.NOTE, note: str = "note", **kw: Any) -> Entry:
    with transaction.atomic():
        return record(kind=kind, note=note, **kw)


def test_list_newest_first_with_filters(pm_alice, viewer_dan) -> None:
    fund = PortfolioFactory.create(code="macro")
    note = _write(actor=pm_alice, portfolio=fund, note="Stay small.")
    mtm = _write(EntryKind.MTM_RUN, note="", portfolio=fund, snapshot={"nav": "1.00"})
    _write(actor=pm_alice, note="no portfolio", on_date=date(2025, 2, 4))
    api = _api(viewer_dan)
    everything = api.get("/api/journal/").json()["results"]
    assert [e["seq"] for e in everything] == [3, 2, 1]
    by_portfolio = api.get("/api/journal/", {"portfolio": "macro"}).json()["results"]
    assert [e["seq"] for e in by_portfolio] == [mtm.seq, note.seq]
    by_kind = api.get("/api/journal/", {"kind": "MTM_RUN"}).json()["results"]
    assert by_kind == [
        {
            "seq": mtm.seq,
            "created_at": by_kind[0]["created_at"],
            "actor": None,
            "kind": "MTM_RUN",
            "portfolio": "macro",
            "position": None,
            "trade": None,
            "proposal": None,
            "on_date": None,
            "snapshot": {"nav": "1.00"},
            "note": "",
            "prev_hash": note.hash,
            "hash": mtm.hash,
        }
    ]
    one = api.get(f"/api/journal/{note.seq}/").json()
    assert one["actor"] == "pm_alice"


@pytest.mark.parametrize(
    ("params", "field"), [({"kind": "GOSSIP"}, "kind"), ({"proposal": "x"}, "proposal")]
)
def test_bad_filters_are_a_400(viewer_dan, params, field) -> None:
    response = _api(viewer_dan).get("/api/journal/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_the_journal_is_read_only(pm_alice) -> None:
    entry = _write(actor=pm_alice)
    api = _api(pm_alice)
    assert api.post("/api/journal/", {"note": "x"}, format="json").status_code == 405
    assert api.patch(f"/api/journal/{entry.seq}/", {"note": "x"}).status_code == 405
    assert api.delete(f"/api/journal/{entry.seq}/").status_code == 405
    assert Entry.objects.get().note == entry.note


def test_post_a_note(cio_bob) -> None:
    fund = PortfolioFactory.create(code="macro")
    response = _api(cio_bob).post(
        "/api/journal/notes/",
        {"note": "Copom at 18:30.", "on_date": "2025-02-04", "portfolio": "macro"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    entry = Entry.objects.get(seq=response.json()["seq"])
    assert (entry.kind, entry.actor, entry.portfolio_id, entry.on_date) == (
        EntryKind.NOTE,
        cio_bob,
        fund.pk,
        date(2025, 2, 4),
    )


def test_note_refusals(pm_alice, viewer_dan) -> None:
    refused = _api(viewer_dan).post(
        "/api/journal/notes/", {"note": "x", "on_date": "2025-02-04"}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only a manager or an approver may write in the journal."
    empty = _api(pm_alice).post(
        "/api/journal/notes/", {"note": " ", "on_date": "2025-02-04"}, format="json"
    )
    assert empty.status_code == 400
    assert empty.json() == {"note": ["Write something: an empty note is not recorded."]}
    aimless = _api(pm_alice).post("/api/journal/notes/", {"note": "x"}, format="json")
    assert aimless.status_code == 400
    unknown = _api(pm_alice).post(
        "/api/journal/notes/", {"note": "x", "position": 999}, format="json"
    )
    assert unknown.status_code == 400
    assert "position" in unknown.json()
    assert not Entry.objects.exists()
