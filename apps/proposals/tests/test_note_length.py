"""Free text has a length limit (TEXT_MAX_LENGTH): the journal keeps entries forever, so a
5 MB note is refused on the page, in the API and by `journal.record` itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from apps.journal.models import Entry, EntryKind
from apps.journal.services import record
from tests.support import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trading_morning() -> None:
    """The journal's tests keep the real clock (not the blotter's morning in conftest)."""


HUGE = "x" * 5_000_000
LONGEST = "x" * 10_000


def test_the_api_refuses_a_note_over_the_limit(pm_alice: Any) -> None:
    api = APIClient()
    api.force_authenticate(pm_alice)
    body = {"note": HUGE, "on_date": "2025-02-04"}
    response = api.post("/api/journal/notes/", body, format="json")
    assert response.status_code == 400
    assert response.json()["note"] == ["Too long: at most 10,000 characters."]
    assert not Entry.objects.exists()
    body["note"] = LONGEST
    assert api.post("/api/journal/notes/", body, format="json").status_code == 201


def test_the_page_refuses_a_note_over_the_limit(client: Client, pm_alice: Any) -> None:
    assert log_in(client, "pm_alice", "correct-horse-battery-staple")
    response = client.post("/journal/notes/", {"note": HUGE, "on_date": "2025-02-04"})
    assert "Too long: at most 10,000 characters." in response.content.decode()
    assert not Entry.objects.exists()


def test_the_journal_itself_refuses_a_note_over_the_limit(pm_alice: Any) -> None:
    with pytest.raises(ValidationError, match="at most 10,000 characters"), transaction.atomic():
        record(kind=EntryKind.NOTE, actor=pm_alice, note=LONGEST + "x")
    assert not Entry.objects.exists()


def test_the_trade_api_refuses_notes_over_the_limit(pm_alice: Any) -> None:
    api = APIClient()
    api.force_authenticate(pm_alice)
    response = api.post("/api/trades/", {"notes": HUGE}, format="json")
    assert response.status_code == 400
    assert response.json()["notes"] == ["Too long: at most 10,000 characters."]


def test_the_proposal_api_refuses_a_rationale_over_the_limit(pm_alice: Any) -> None:
    api = APIClient()
    api.force_authenticate(pm_alice)
    response = api.post("/api/proposals/", {"rationale": HUGE}, format="json")
    assert response.status_code == 400
    assert response.json()["rationale"] == ["Too long: at most 10,000 characters."]
