"""The risk API: live report, history, snapshot, run and alert acknowledgement."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.journal.models import Entry, EntryKind
from apps.risk.models import Alert, RiskSnapshot
from apps.risk.tests.support import DAYS, LAST, SNAPSHOT_DAYS, RiskBook

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _as(api: APIClient, user: Any) -> APIClient:
    api.force_authenticate(user)
    return api


# --- reads --------------------------------------------------------------------------------------


def test_live_computes_without_storing(api, risk_book: RiskBook, viewer_dan) -> None:
    before = RiskSnapshot.objects.count(), Alert.objects.count()
    code = risk_book.portfolio.code
    response = _as(api, viewer_dan).get("/api/risk/live/", {"portfolio": code})
    assert response.status_code == 200
    body = response.json()
    assert (body["portfolio"], body["date"], body["stored"]) == (code, LAST.isoformat(), False)
    report = body["report"]
    assert report["var99"] == pytest.approx(risk_book.snapshot.report["var99"])
    assert {c["level"] for c in report["limits"]} >= {"hard", "warning"}
    assert len(report["stress"]) == len(risk_book.snapshot.report["stress"])
    assert (RiskSnapshot.objects.count(), Alert.objects.count()) == before


def test_live_answers_an_unknown_portfolio_404(api, risk_book: RiskBook, pm_alice) -> None:
    response = _as(api, pm_alice).get("/api/risk/live/", {"portfolio": "nope"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No active portfolio 'nope'."


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date": "14/02/2025"}, "date", "'14/02/2025' is not a date (use YYYY-MM-DD)."),
        ({"date": "2025-02-15"}, "non_field_errors", "has no NAV on 2025-02-15"),
    ],
)
def test_live_explains_bad_parameters(
    api, risk_book: RiskBook, pm_alice, params, field, message
) -> None:
    params = {"portfolio": risk_book.portfolio.code, **params}
    response = _as(api, pm_alice).get("/api/risk/live/", params)
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_history_lists_the_headlines_in_a_window(api, risk_book: RiskBook, viewer_dan) -> None:
    code = risk_book.portfolio.code
    everything = _as(api, viewer_dan).get("/api/risk/history/", {"portfolio": code}).json()
    assert [p["date"] for p in everything] == [d.isoformat() for d in SNAPSHOT_DAYS]
    last = everything[-1]
    report = risk_book.snapshot.report
    assert last["var99"] == pytest.approx(report["var99"])
    assert last["var99_pct"] == pytest.approx(report["var99"] / report["nav"])
    assert last["worst_stress"] == "2002 election (Lula) confidence crisis"
    assert last["worst_stress_pnl"] < 0
    window = {"portfolio": code, "from": SNAPSHOT_DAYS[1].isoformat(), "to": SNAPSHOT_DAYS[2]}
    assert len(api.get("/api/risk/history/", window).json()) == 2


def test_history_refuses_a_reversed_window(api, risk_book: RiskBook, pm_alice) -> None:
    params = {"from": "2025-02-14", "to": "2025-02-01"}
    response = _as(api, pm_alice).get("/api/risk/history/", params)
    assert response.status_code == 400
    assert "is after 'to'" in response.json()["from"][0]
    bad = api.get("/api/risk/history/", {"to": "yesterday"})
    assert bad.status_code == 400 and "not a date" in bad.json()["to"][0]


def test_snapshot_returns_the_stored_report(api, risk_book: RiskBook, viewer_dan) -> None:
    code = risk_book.portfolio.code
    latest = _as(api, viewer_dan).get("/api/risk/snapshot/", {"portfolio": code}).json()
    assert latest["stored"] is True and latest["date"] == LAST.isoformat()
    assert latest["report"]["var99"] == risk_book.snapshot.report["var99"]
    assert latest["report"]["dv01_ladder"] == risk_book.snapshot.report["dv01_ladder"]
    day = SNAPSHOT_DAYS[0].isoformat()
    assert api.get("/api/risk/snapshot/", {"portfolio": code, "date": day}).json()["date"] == day
    missing = api.get("/api/risk/snapshot/", {"portfolio": code, "date": DAYS[3].isoformat()})
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"No risk snapshot for {code} on {DAYS[3].isoformat()}."


# --- run --------------------------------------------------------------------------------------


def test_run_stores_a_snapshot(api, risk_book: RiskBook, ops_erin) -> None:
    day = DAYS[-10]
    data = {"portfolio": risk_book.portfolio.code, "date": day.isoformat()}
    response = _as(api, ops_erin).post("/api/risk/run/", data, format="json")
    assert response.status_code == 201
    assert response.json()["stored"] is True
    stored = RiskSnapshot.objects.get(portfolio=risk_book.portfolio, date=day)
    assert response.json()["report"]["var99"] == stored.report["var99"]


def test_run_is_for_managers_approvers_and_ops(api, risk_book: RiskBook, viewer_dan) -> None:
    data = {"portfolio": risk_book.portfolio.code, "date": DAYS[-10].isoformat()}
    assert _as(api, viewer_dan).post("/api/risk/run/", data, format="json").status_code == 403
    assert not RiskSnapshot.objects.filter(date=DAYS[-10]).exists()


def test_run_explains_an_unmarked_day(api, risk_book: RiskBook, pm_alice) -> None:
    data = {"portfolio": risk_book.portfolio.code, "date": "2025-02-15"}
    response = _as(api, pm_alice).post("/api/risk/run/", data, format="json")
    assert response.status_code == 400
    assert "has no NAV on 2025-02-15" in response.json()["non_field_errors"][0]
    unknown = api.post("/api/risk/run/", {"portfolio": "nope"}, format="json")
    assert unknown.status_code == 400 and "portfolio" in unknown.json()


# --- alerts -------------------------------------------------------------------------------------


def _hard() -> Alert:
    return Alert.objects.open().get(level=Alert.Level.HARD)


def test_acknowledge_with_a_note(api, risk_book: RiskBook, cio_bob) -> None:
    alert = _hard()
    url = f"/api/risk/alerts/{alert.pk}/acknowledge/"
    response = _as(api, cio_bob).post(url, {"note": "Selling DAPK29."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["acknowledged_by"], body["note"]) == (
        "ACKNOWLEDGED",
        "cio_bob",
        "Selling DAPK29.",
    )
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert Entry.objects.filter(kind=EntryKind.ALERT_ACKNOWLEDGED).count() == 1
    again = api.post(url, {"note": "twice"}, format="json")
    assert again.status_code == 400 and "already acknowledged" in str(again.json())


def test_acknowledge_without_a_note_is_400(api, risk_book: RiskBook, cio_bob) -> None:
    alert = _hard()
    url = f"/api/risk/alerts/{alert.pk}/acknowledge/"
    for data in ({}, {"note": "   "}):
        response = _as(api, cio_bob).post(url, data, format="json")
        assert response.status_code == 400
        assert response.json() == {"note": ["Say what is being done: acknowledging needs a note."]}
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_a_viewer_cannot_acknowledge(api, risk_book: RiskBook, viewer_dan) -> None:
    alert = _hard()
    url = f"/api/risk/alerts/{alert.pk}/acknowledge/"
    response = _as(api, viewer_dan).post(url, {"note": "mine"}, format="json")
    assert response.status_code == 403
    assert "Only a manager, an approver or ops" in response.json()["detail"]
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_alerts_list_filters_by_status(api, risk_book: RiskBook, viewer_dan) -> None:
    code = risk_book.portfolio.code
    rows = _as(api, viewer_dan).get("/api/risk/alerts/", {"portfolio": code, "status": "open"})
    assert rows.json()["count"] == Alert.objects.open().count() > 0
    assert {r["metric"] for r in rows.json()["results"]} == {"WORST_STRESS", "DV01"}
    bad = api.get("/api/risk/alerts/", {"status": "closed"})
    assert bad.status_code == 400 and "'closed' is not one of" in bad.json()["status"][0]


def test_the_schema_lists_the_risk_endpoints(api, pm_alice) -> None:
    schema = _as(api, pm_alice).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/risk/live/",
        "/api/risk/history/",
        "/api/risk/snapshot/",
        "/api/risk/run/",
        "/api/risk/alerts/{id}/acknowledge/",
    ):
        assert path in schema["paths"], path
