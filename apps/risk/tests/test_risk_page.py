"""The risk monitor page: the stored snapshot, a date without one, compute now, acknowledge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from apps.core.templatetags.pms_format import num, pct
from apps.journal.models import Entry, EntryKind
from apps.positions.tests.factories import PortfolioFactory
from apps.risk.models import Alert, RiskSnapshot
from apps.risk.tests.support import DAYS, LAST, SNAPSHOT_DAYS, RiskBook
from apps.risk.views import tenor

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = "/risk/"


def _get(client: Any, user: Any, **params: str) -> Any:
    client.force_login(user)
    return client.get(URL, params)


def _chart_data(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('<script id="risk-charts" type="application/json">') + 49
    return json.loads(html[start : html.index("</script>", start)])


def test_it_shows_the_latest_snapshot(client, risk_book: RiskBook, pm_alice) -> None:
    report = risk_book.snapshot.report
    response = _get(client, pm_alice)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Snapshot of {LAST:%a %d %b %Y}" in page
    assert num(report["var99"], 0) in page  # VaR 99 in R$, grouped
    assert pct(report["var99"] / report["nav"], 2) in page
    assert num(report["es975"], 0) in page and num(report["pvar99"], 0) in page
    assert "short history" in page  # 31 scenarios < 252
    assert "Only 31 days of factor history" in page  # the report's warning
    assert page.count('data-testid="stress-row"') == len(report["stress"])
    assert "2002 election (Lula) confidence crisis" in page
    assert '<span class="badge bad">worst</span>' in page
    assert page.count('data-testid="limit-row"') == len(report["limits"])
    assert "Worst stress loss (% of NAV)" in page
    assert "Strategy · Rates BR" in page  # the scoped limit names the strategy


def test_the_dv01_ladder_is_labelled_in_business_days_and_tenor(
    client, risk_book: RiskBook, pm_alice
) -> None:
    ladder = risk_book.snapshot.report["dv01_ladder"]
    charts = _chart_data(_get(client, pm_alice))
    dv01 = charts["dv01"]
    assert "252 du (1y)" in dv01["labels"] and "2520 du (10y)" in dv01["labels"]
    assert dv01["labels"][0] == "21 du (1m)"
    assert dv01["di"] == [
        ladder["di"][k] for k in ("21", "63", "126", "252", "504", "756", "1008", "1260", "2520")
    ]
    assert dv01["dap"][dv01["labels"].index("1260 du (5y)")] == ladder["dap"]["1260"]
    assert dv01["dap"][0] is None  # no DAP vertex at 21 du
    assert charts["exposures"]["strategy"]["labels"][0] == "Rates BR"  # largest gross first
    assert charts["history"]["labels"] == [d.isoformat() for d in SNAPSHOT_DAYS]


def test_component_var_adds_up_to_the_total(client, risk_book: RiskBook, pm_alice) -> None:
    response = _get(client, pm_alice)
    components = response.context["components"]
    assert components["total"] == pytest.approx(risk_book.snapshot.report["var99"])
    assert sum(r["share"] for r in components["rows"]) == pytest.approx(1.0)
    assert "Total = VaR 99 %" in response.content.decode()


def test_a_past_date_shows_its_own_snapshot(client, risk_book: RiskBook, viewer_dan) -> None:
    day = SNAPSHOT_DAYS[0]
    response = _get(client, viewer_dan, date=day.isoformat())
    assert response.context["snapshot"].date == day
    assert f"Snapshot of {day:%a %d %b %Y}" in response.content.decode()
    assert response.context["charts"]["history"]["labels"] == [day.isoformat()]


def test_a_date_without_snapshot_says_so_and_offers_to_compute(
    client, risk_book: RiskBook, pm_alice
) -> None:
    day = DAYS[-10]
    response = _get(client, pm_alice, date=day.isoformat())
    page = response.content.decode()
    assert response.status_code == 200
    assert f"No risk snapshot for {risk_book.portfolio.name} on {day:%d/%m/%Y}" in page
    assert 'data-testid="compute-form"' in page
    assert f"Compute now for {day:%d/%m/%Y}" in page
    assert f'the latest one is of <a href="?portfolio={risk_book.portfolio.code}' in page


def test_a_viewer_reads_but_is_offered_no_action(client, risk_book: RiskBook, viewer_dan) -> None:
    page = _get(client, viewer_dan).content.decode()
    assert 'data-testid="ack-form"' not in page
    assert 'data-testid="alert-row"' in page
    missing = _get(client, viewer_dan, date=DAYS[-10].isoformat()).content.decode()
    assert 'data-testid="compute-form"' not in missing
    assert "A manager, an approver or ops can compute it now." in missing


def test_compute_now_stores_the_snapshot(client, risk_book: RiskBook, cio_bob) -> None:
    day = DAYS[-10]
    client.force_login(cio_bob)
    data = {"portfolio": risk_book.portfolio.code, "date": day.isoformat()}
    response = client.post(reverse("risk:compute"), data, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"date={day.isoformat()}")
    snapshot = RiskSnapshot.objects.get(portfolio=risk_book.portfolio, date=day)
    assert snapshot.report["asof"] == day.isoformat()
    assert f"Risk of {risk_book.portfolio.name} on {day:%d/%m/%Y} computed" in (
        response.content.decode()
    )
    assert response.context["snapshot"] == snapshot


def test_a_viewer_cannot_compute(client, risk_book: RiskBook, viewer_dan) -> None:
    client.force_login(viewer_dan)
    data = {"portfolio": risk_book.portfolio.code, "date": DAYS[-10].isoformat()}
    assert client.post(reverse("risk:compute"), data).status_code == 403
    assert not RiskSnapshot.objects.filter(date=DAYS[-10]).exists()


def test_computing_an_unmarked_day_explains_why_not(client, risk_book: RiskBook, pm_alice) -> None:
    client.force_login(pm_alice)
    data = {"portfolio": risk_book.portfolio.code, "date": "2025-02-15"}  # a Saturday
    response = client.post(reverse("risk:compute"), data, follow=True)
    assert "Risk not computed" in response.content.decode()
    assert "no NAV on 2025-02-15" in response.content.decode()
    assert not RiskSnapshot.objects.filter(date="2025-02-15").exists()
    missing = _get(client, pm_alice, date="2025-02-15").content.decode()
    assert "The book is not marked on 15/02/2025" in missing


def test_a_bad_date_is_explained_and_the_latest_snapshot_shown(
    client, risk_book: RiskBook, pm_alice
) -> None:
    response = _get(client, pm_alice, date="14/02/2025")
    assert "is not a date (use YYYY-MM-DD)" in response.content.decode()
    assert response.context["snapshot"] == risk_book.snapshot


def test_a_fund_without_snapshot_yet(client, pm_alice) -> None:
    portfolio = PortfolioFactory.create(name="Fresh fund")
    page = _get(client, pm_alice, portfolio=portfolio.code).content.decode()
    assert "No risk snapshot for Fresh fund yet." in page
    assert "The fund has no marked day yet: run the MTM first." in page


def _open_hard_alert() -> Alert:
    return Alert.objects.open().get(level=Alert.Level.HARD)


def test_acknowledge_through_htmx_returns_the_row(client, risk_book: RiskBook, cio_bob) -> None:
    alert = _open_hard_alert()
    client.force_login(cio_bob)
    url = reverse("risk:acknowledge", args=[alert.pk])
    response = client.post(url, {"note": "Trimming DAPK29 at the open."}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith(f'<tr id="alert-{alert.pk}"')
    assert "acknowledged</span> by Bob CIO" in page
    assert 'hx-swap-oob="true"' in page  # the header's open count follows
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.note) == (
        Alert.Status.ACKNOWLEDGED,
        cio_bob,
        "Trimming DAPK29 at the open.",
    )
    entry = Entry.objects.get(kind=EntryKind.ALERT_ACKNOWLEDGED)
    assert (entry.actor, entry.note) == (cio_bob, "Trimming DAPK29 at the open.")


def test_acknowledge_without_a_note_is_refused_in_the_row(
    client, risk_book: RiskBook, pm_alice
) -> None:
    alert = _open_hard_alert()
    client.force_login(pm_alice)
    response = client.post(reverse("risk:acknowledge", args=[alert.pk]), {"note": "  "}, **HTMX)
    assert "acknowledging needs a note" in response.content.decode()
    assert 'data-testid="ack-form"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert not Entry.objects.filter(kind=EntryKind.ALERT_ACKNOWLEDGED).exists()


def test_a_viewer_cannot_acknowledge(client, risk_book: RiskBook, viewer_dan) -> None:
    alert = _open_hard_alert()
    client.force_login(viewer_dan)
    response = client.post(reverse("risk:acknowledge", args=[alert.pk]), {"note": "mine"}, **HTMX)
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_acknowledge_without_htmx_redirects_with_a_message(
    client, risk_book: RiskBook, pm_alice
) -> None:
    alert = _open_hard_alert()
    client.force_login(pm_alice)
    url = reverse("risk:acknowledge", args=[alert.pk])
    response = client.post(url, {"note": "Hedged with USD calls."}, follow=True)
    assert f"Alert #{alert.pk} acknowledged." in response.content.decode()
    again = client.post(url, {"note": "twice"}, follow=True)
    assert "already acknowledged" in again.content.decode()
    assert Entry.objects.filter(kind=EntryKind.ALERT_ACKNOWLEDGED).count() == 1


def test_open_alerts_come_first(client, risk_book: RiskBook, pm_alice) -> None:
    from apps.risk.services import acknowledge_alert

    first = Alert.objects.order_by("pk").first()
    assert first is not None
    acknowledge_alert(first, by=pm_alice, note="Seen.")
    alerts = _get(client, pm_alice).context["alerts"]
    statuses = [a.status for a in alerts]
    assert statuses == sorted(statuses, key=lambda s: s != Alert.Status.OPEN)
    assert alerts[-1] == first


def test_the_page_reads_the_snapshot_in_few_queries(
    client, risk_book: RiskBook, pm_alice, django_assert_max_num_queries
) -> None:
    client.force_login(pm_alice)
    # 13: three for "nothing silently stale" (today's intraday snapshot, the last close, the
    # changes since).
    with django_assert_max_num_queries(13):
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    ("du", "label"),
    [(21, "1m"), (63, "3m"), (126, "6m"), (252, "1y"), (504, "2y"), (1260, "5y"), (378, "1.5y")],
)
def test_tenor_labels(du: int, label: str) -> None:
    assert tenor(du) == label
