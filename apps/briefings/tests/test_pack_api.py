"""The morning pack API: latest, one day (a version), generate (roles, business dates)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.briefings.models import MorningPack
from apps.briefings.services import generate_morning_pack
from apps.briefings.tests.support import FakeAnthropic
from apps.journal.models import Entry, EntryKind
from apps.positions.models import Portfolio
from apps.positions.tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db

FRIDAY, MONDAY = date(2025, 5, 2), date(2025, 5, 5)
FIELDS = {
    "facts",
    "narrative",
    "source",
    "model",
    "version",
    "rejection_reason",
    "timings",
    "created_at",
}


@pytest.fixture
def fund(settings: Any) -> Portfolio:
    settings.ANTHROPIC_API_KEY = ""
    return PortfolioFactory.create(code="macro", name="Macro FIM")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_generate_returns_the_new_version_and_journals_it(
    fund: Portfolio, api: APIClient, pm_alice: Any
) -> None:
    api.force_authenticate(pm_alice)
    payload = {"portfolio": "macro", "date": "2025-05-05", "language": "en"}
    first = api.post("/api/morning-pack/generate/", payload, format="json")
    second = api.post("/api/morning-pack/generate/", payload, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    body = second.json()
    assert set(body) >= FIELDS
    assert (body["version"], body["source"], body["language"]) == (2, "template", "en")
    assert body["rejection_reason"] == "No ANTHROPIC_API_KEY: template used."
    assert body["facts"]["business_date"] == "2025-05-05" and "facts_ms" in body["timings"]
    assert body["created_by"] == "pm_alice" and body["narrative"].startswith("Book: No marks")
    assert MorningPack.objects.filter(portfolio=fund, business_date=MONDAY).count() == 2
    assert Entry.objects.filter(kind=EntryKind.MORNING_PACK, actor=pm_alice).count() == 2


@pytest.mark.parametrize("who", ["cio_bob", "ops_erin"])
def test_approvers_and_ops_may_generate(
    fund: Portfolio, api: APIClient, who: str, request: Any
) -> None:
    api.force_authenticate(request.getfixturevalue(who))
    response = api.post("/api/morning-pack/generate/", {"portfolio": "macro", "date": "2025-05-05"})
    assert response.status_code == 201 and response.json()["version"] == 1


@pytest.mark.parametrize("who", ["viewer_dan", "bo_carol"])
def test_viewers_and_back_office_may_not_generate(
    fund: Portfolio, api: APIClient, who: str, request: Any
) -> None:
    api.force_authenticate(request.getfixturevalue(who))
    response = api.post("/api/morning-pack/generate/", {"portfolio": "macro", "date": "2025-05-05"})
    assert response.status_code == 403
    assert not MorningPack.objects.exists()


def test_generate_refuses_a_non_business_date_and_unknown_funds(
    fund: Portfolio, api: APIClient, pm_alice: Any
) -> None:
    api.force_authenticate(pm_alice)
    saturday = api.post("/api/morning-pack/generate/", {"portfolio": "macro", "date": "2025-05-03"})
    assert saturday.status_code == 400
    assert saturday.json() == {"date": ["2025-05-03 is not an ANBIMA business day."]}
    unknown = api.post("/api/morning-pack/generate/", {"portfolio": "nope", "date": "2025-05-05"})
    assert unknown.status_code == 400 and "portfolio" in unknown.json()
    bad = api.post("/api/morning-pack/generate/", {"portfolio": "macro", "date": "05/05/2025"})
    assert bad.status_code == 400 and "date" in bad.json()
    far = api.post("/api/morning-pack/generate/", {"portfolio": "macro", "date": "9999-12-31"})
    assert far.status_code == 400 and far.json() == {"date": ["Years 1990–2200 only."]}
    assert not MorningPack.objects.exists()


def test_a_day_gives_its_latest_version_or_the_one_asked_for(
    fund: Portfolio, api: APIClient, viewer_dan: Any
) -> None:
    generate_morning_pack(fund, FRIDAY)
    generate_morning_pack(fund, FRIDAY, client=FakeAnthropic(error=TimeoutError("slow")))
    api.force_authenticate(viewer_dan)
    latest = api.get("/api/morning-pack/", {"portfolio": "macro", "date": "2025-05-02"})
    assert latest.status_code == 200
    assert latest.json()["version"] == 2 and "TimeoutError" in latest.json()["rejection_reason"]
    first = api.get(
        "/api/morning-pack/", {"portfolio": "macro", "date": "2025-05-02", "version": "1"}
    )
    assert first.json()["version"] == 1 and first.json()["business_date"] == "2025-05-02"
    assert api.get("/api/morning-pack/", {"date": "2025-05-02", "version": "7"}).status_code == 404
    assert api.get("/api/morning-pack/", {"date": "2025-05-05"}).status_code == 404
    assert api.get("/api/morning-pack/", {"portfolio": "macro"}).status_code == 400
    assert api.get("/api/morning-pack/", {"date": "2025-02-30"}).status_code == 400
    assert api.get("/api/morning-pack/", {"date": "2025-05-02", "version": "x"}).status_code == 400


def test_latest_is_the_newest_day_then_version(
    fund: Portfolio, api: APIClient, viewer_dan: Any
) -> None:
    api.force_authenticate(viewer_dan)
    assert api.get("/api/morning-pack/latest/", {"portfolio": "macro"}).status_code == 404
    generate_morning_pack(fund, MONDAY)
    generate_morning_pack(fund, FRIDAY)
    generate_morning_pack(fund, FRIDAY)
    body = api.get("/api/morning-pack/latest/", {"portfolio": "macro"}).json()
    assert (body["business_date"], body["version"], body["portfolio"]) == ("2025-05-05", 1, "macro")


def test_the_api_needs_a_login_and_is_in_the_schema(api: APIClient, viewer_dan: Any) -> None:
    assert api.get("/api/morning-pack/latest/").status_code in (401, 403)
    api.force_authenticate(viewer_dan)
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/morning-pack/", "/api/morning-pack/latest/", "/api/morning-pack/generate/"):
        assert path in schema["paths"], path
    one = schema["paths"]["/api/morning-pack/"]["get"]["responses"]["200"]["content"]
    assert one["application/json"]["schema"] == {"$ref": "#/components/schemas/MorningPack"}
