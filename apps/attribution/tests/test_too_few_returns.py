"""Estimates over fewer than STATS_MIN_RETURNS daily returns read "n/a" with the reason."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from apps.attribution.tests.test_attribution_page import golden_fund

pytestmark = pytest.mark.django_db

REASON = "10 daily returns in the period"


@pytest.fixture
def fund(book_at: Any, pm_alice: Any) -> Any:
    return golden_fund(book_at, pm_alice)  # 10 marked days


def test_the_page_shows_na_and_why(client: Client, fund, viewer_dan, settings) -> None:
    settings.STATS_MIN_RETURNS = 21
    client.force_login(viewer_dan)
    body = client.get(f"/attribution/?portfolio={fund.code}&period=itd").content.decode()
    assert 'data-testid="kpi-pct-cdi">n/a' in body
    assert 'data-testid="kpi-sharpe">n/a' in body
    assert 'data-testid="kpi-annualised">n/a' in body
    assert REASON in body and "at least 21" in body
    assert 'data-testid="kpi-twr">+2.86 %' in body  # the period's own return stays


def test_the_api_gives_null_and_the_reason(client: Client, fund, viewer_dan, settings) -> None:
    settings.STATS_MIN_RETURNS = 21
    client.force_login(viewer_dan)
    body = client.get(f"/api/attribution/returns/?portfolio={fund.code}&period=itd").json()
    assert body["pct_cdi"] is None and body["annualised"] is None
    assert body["stats"]["sharpe"] is None and body["stats"]["volatility"] is None
    assert REASON in body["na_reason"] and body["twr"] == pytest.approx(0.028596, abs=1e-6)


def test_the_summary_csv_writes_na_and_the_reason(
    client: Client, fund, viewer_dan, settings
) -> None:
    settings.STATS_MIN_RETURNS = 21
    client.force_login(viewer_dan)
    url = f"/attribution/?portfolio={fund.code}&period=itd&format=csv&table=summary"
    response = client.get(url)
    assert response.status_code == 200
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(response.content.decode()))}
    assert rows["sharpe"][0] == "n/a" and REASON in rows["sharpe"][1]
    assert rows["pct_of_cdi"][0] == "n/a" and rows["annualised_return_pct"][0] == "n/a"
    assert rows["twr_pct"][0].startswith("2.8596")


def test_with_enough_returns_the_figures_show(client: Client, fund, viewer_dan, settings) -> None:
    settings.STATS_MIN_RETURNS = 10
    client.force_login(viewer_dan)
    body = client.get(f"/api/attribution/returns/?portfolio={fund.code}&period=itd").json()
    assert body["pct_cdi"] == 6.342 and body["stats"]["sharpe"] is not None
    assert body["na_reason"] is None
