"""The compliance page and `GET /api/compliance/`: each rule with the day's value, limit, use
and status, the history behind the chart, the open and past breaches."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.compliance.models import ComplianceRule, RuleKind, Severity
from apps.compliance.services import run_compliance
from apps.positions.mtm import catch_up
from tests.support import Book, BookAt

pytestmark = pytest.mark.django_db

CLOSES = (
    (date(2025, 2, 3), "5539.36"),
    (date(2025, 2, 4), "5575.65"),
    (date(2025, 2, 5), "5560.00"),
)
D1, D2, D3 = (day for day, _ in CLOSES)


@pytest.fixture
def fund(book_at: BookAt) -> Book:
    """Long 10 WDOH25 from D1, sold on D3; a gross rule it breaks on D1–D2, then cured."""
    book = book_at(D1, "WDOH25")
    for day, close in CLOSES:
        book.market_day("WDOH25", day, close)
    book.trade("WDOH25", "BUY", "10", D1, price="5529.50")
    book.trade("WDOH25", "SELL", "10", D3, price="5560.00")
    for code, kind, limit in (
        ("gross", RuleKind.GROSS_EXPOSURE, "0.005"),
        ("cash", RuleKind.MIN_CASH, "0.05"),
    ):
        ComplianceRule.objects.create(
            portfolio=book.portfolio,
            code=code,
            name=f"The {code} rule",
            kind=kind,
            limit=Decimal(limit),
            severity=Severity.HARD,
            legal_basis="Fund policy.",
        )
    for day in (D1, D2, D3):
        catch_up(book.portfolio, day)
        run_compliance(book.portfolio, day)
    return book


def test_the_page_shows_each_rule_its_history_and_the_past_breach(
    client: Client, fund: Book, pm_alice: Any
) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/compliance/?portfolio={fund.portfolio.code}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="rule-row"') == 2
    assert 'data-rule="gross"' in html and "≤ 0.50 %" in html and "Within" in html
    assert 'data-testid="compliance-chart"' in html
    charts = json.loads(html.split('id="compliance-charts-data">')[1].split("</script>")[0])
    gross = next(r for r in charts["rules"] if r["code"] == "gross")
    assert [p["date"] for p in gross["history"]] == [d.isoformat() for d in (D1, D2, D3)]
    assert gross["history"][0]["utilisation"] > 1 and gross["history"][2]["utilisation"] == 0
    assert 'data-testid="past-breach"' in html and "03/02/2025" in html and "05/02/2025" in html
    assert '<a href="/compliance/"' in html  # the navigation's entry


def test_the_api_gives_the_same_numbers(client: Client, fund: Book, pm_alice: Any) -> None:
    client.force_login(pm_alice)
    body = client.get(f"/api/compliance/?portfolio={fund.portfolio.code}&date={D2}").json()
    assert body["as_of"] == D2.isoformat()
    gross = next(r for r in body["rules"] if r["code"] == "gross")
    assert gross["status"] == "BREACH" and gross["limit"] == 0.005 and gross["value"] > 0.005
    [open_breach] = body["open_breaches"]
    assert open_breach["rule"] == "gross" and open_breach["started_on"] == D1.isoformat()
    assert body["past_breaches"] == []
    assert client.get("/api/compliance/?date=nope").status_code == 400
    assert client.get("/api/compliance/?portfolio=nope").status_code == 404


def test_a_fund_without_rules_says_so(client: Client, book_at: BookAt, pm_alice: Any) -> None:
    book = book_at(D1, "WDOH25")
    client.force_login(pm_alice)
    html = client.get(f"/compliance/?portfolio={book.portfolio.code}").content.decode()
    assert 'data-testid="compliance-empty"' in html


def test_back_office_acknowledges_an_open_breach_from_the_page_with_a_note(
    client: Client, book_at: BookAt, bo_carol: Any
) -> None:
    from apps.compliance.models import Breach
    from apps.journal.models import Entry, EntryKind

    book = book_at(D1, "WDOH25")
    book.market_day("WDOH25", D1, "5539.36")
    book.trade("WDOH25", "BUY", "10", D1, price="5529.50")
    ComplianceRule.objects.create(
        portfolio=book.portfolio,
        code="gross",
        name="Gross ≤ 0.5 %",
        kind=RuleKind.GROSS_EXPOSURE,
        limit=Decimal("0.005"),
        legal_basis="Fund policy.",
    )
    catch_up(book.portfolio, D1)
    run_compliance(book.portfolio, D1)
    breach = Breach.objects.get()
    client.force_login(bo_carol)
    page = client.get(f"/compliance/?portfolio={book.portfolio.code}").content.decode()
    assert 'data-testid="acknowledge-form"' in page

    url = f"/compliance/breaches/{breach.pk}/acknowledge/"
    refused = client.post(url, {"note": " "}, follow=True).content.decode()
    assert "not acknowledged" in refused and "how and when" in refused
    client.post(url, {"note": "Selling 5 WDO at the open."})
    breach.refresh_from_db()
    assert breach.state == Breach.State.ACKNOWLEDGED and breach.acknowledged_by == bo_carol
    entry = Entry.objects.filter(kind=EntryKind.COMPLIANCE_BREACH).latest("seq")
    assert entry.snapshot["event"] == "acknowledged" and entry.note == "Selling 5 WDO at the open."
    shown = client.get(f"/compliance/?portfolio={book.portfolio.code}").content.decode()
    assert "bo_carol: Selling 5 WDO at the open." in shown
