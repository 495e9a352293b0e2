"""Bad periods: a clear sentence on the page (200, so htmx swaps it in) and a 400 in the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from apps.attribution.tests.test_attribution_page import golden_fund
from apps.positions.tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db

# The golden fund: inception 03/02/2025 (moved to 02/01/2025 below), marked 03/02 – 14/02/2025.
BAD = [
    pytest.param(
        "period=custom&start=2024-12-02&end=2025-02-10",
        "02/12/2024 is before the inception",
        id="before-inception",
    ),
    pytest.param(
        "period=custom&start=2025-02-12&end=2025-02-05",
        "The range is reversed: the start 12/02/2025 is after the end 05/02/2025.",
        id="reversed",
    ),
    pytest.param(
        "period=custom&start=2025-02-08&end=2025-02-09",
        "No marked day between 08/02/2025 and 09/02/2025 (a weekend or a holiday?)",
        id="weekend",
    ),
    pytest.param(
        "period=custom&start=2025-01-06&end=2025-01-31",
        "No marks up to 31/01/2025",
        id="before-the-first-nav",
    ),
    pytest.param(
        "period=custom&start=2025-03-03",
        "No marks from 03/03/2025: the last marked day",
        id="after-the-last-nav",
    ),
    pytest.param("period=custom", "A custom period needs a start date", id="custom-no-start"),
    pytest.param("period=5y", "Unknown period '5y'; use one of mtd, qtd, ytd", id="unknown-key"),
    pytest.param(
        "period=custom&start=31/01/2025",
        "Start: '31/01/2025' is not a date (use YYYY-MM-DD).",
        id="malformed-start",
    ),
    pytest.param(
        "period=custom&start=2025-02-03&end=2025-02-30",
        "End: '2025-02-30' is not a date (use YYYY-MM-DD).",
        id="impossible-end",
    ),
]


@pytest.fixture
def fund(book_at: Any, pm_alice: Any) -> Any:
    portfolio = golden_fund(book_at, pm_alice)
    portfolio.inception_date = date(2025, 1, 2)  # launched a month before its first mark
    portfolio.save(update_fields=["inception_date"])
    return portfolio


@pytest.mark.parametrize(("query", "message"), BAD)
def test_the_page_explains_a_bad_period(client: Client, fund, pm_alice, query, message) -> None:
    client.force_login(pm_alice)
    page_or_fragment: tuple[dict[str, Any], ...] = ({}, {"HTTP_HX_REQUEST": "true"})
    for headers in page_or_fragment:
        response = client.get(f"/attribution/?portfolio={fund.code}&{query}", **headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert 'role="alert"' in body and message in body.replace("&#x27;", "'")
        assert response.context["result"] is None
        assert "Nothing to show for this selection" in body
        assert 'id="f-start"' in body  # the controls stay, to fix the request


@pytest.mark.parametrize(("query", "message"), BAD)
def test_the_api_refuses_a_bad_period(client: Client, fund, viewer_dan, query, message) -> None:
    client.force_login(viewer_dan)
    for endpoint in ("returns", "contributions"):
        response = client.get(f"/api/attribution/{endpoint}/?portfolio={fund.code}&{query}")
        assert response.status_code == 400
        errors = [m for messages in response.json().values() for m in messages]
        assert any(message.removeprefix("Start: ").removeprefix("End: ") in m for m in errors)


@pytest.mark.parametrize(("query", "message"), BAD)
def test_the_csv_refuses_a_bad_period(client: Client, fund, pm_alice, query, message) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&{query}&format=csv&table=daily")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content.decode()


def test_a_fund_without_marks_says_so_everywhere(client: Client, pm_alice) -> None:
    PortfolioFactory.create(code="fresh", name="Fresh fund")
    client.force_login(pm_alice)
    body = client.get("/attribution/?portfolio=fresh").content.decode()
    assert "Fresh fund has no marked days yet: run the MTM first." in body
    assert "has no marked day yet: returns and attribution appear after its first MTM" in body
    for endpoint in ("returns", "contributions", "monthly"):
        response = client.get(f"/api/attribution/{endpoint}/?portfolio=fresh")
        assert response.status_code == 400
        assert "has no marked days yet" in str(response.json())
    csv = client.get("/attribution/?portfolio=fresh&format=csv&table=monthly")
    assert csv.status_code == 400


def test_an_unknown_portfolio_is_a_404_that_names_it(client: Client, fund, pm_alice) -> None:
    """Unknown and not granted answer alike (issue 17): 404, never data."""
    client.force_login(pm_alice)
    assert client.get("/attribution/?portfolio=nope").status_code == 404
    api = client.get("/api/attribution/returns/?portfolio=nope")
    assert api.status_code == 404 and api.json()["detail"] == "No active portfolio 'nope'."


def test_a_named_period_ignores_stray_dates(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&period=mtd&start=2099-01-01")
    result = response.context["result"]
    assert result.period.key == "mtd" and result.period.end == date(2025, 2, 14)


def test_dates_without_a_period_mean_a_custom_range(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&start=2025-02-05")
    period = response.context["result"].period
    assert (period.key, period.start, period.end) == ("custom", date(2025, 2, 5), date(2025, 2, 14))
