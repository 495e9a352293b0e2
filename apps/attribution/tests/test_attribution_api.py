"""The attribution API: returns and statistics, contributions, the monthly grid, snapshots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.attribution.services import run_attribution
from apps.attribution.tests.test_attribution_page import golden_fund
from apps.attribution.tests.test_golden_book import DAYS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _golden_figures_over_ten_days(settings: Any) -> None:
    """The golden book is 10 days: its estimates are checked as figures, not as "n/a"."""
    settings.STATS_MIN_RETURNS = 10


@pytest.fixture
def fund(book_at: Any, pm_alice: Any) -> Any:
    return golden_fund(book_at, pm_alice)


def _places(x: float) -> int:
    text = repr(x)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def test_returns_are_rounded_fractions_with_brl_as_strings(
    client: Client, fund, viewer_dan
) -> None:
    client.force_login(viewer_dan)
    response = client.get(f"/api/attribution/returns/?portfolio={fund.code}&period=itd")
    assert response.status_code == 200
    body = response.json()
    assert body["portfolio"] == fund.code
    assert body["period"] == {
        "key": "itd",
        "name": "Since inception",
        "start": "2025-02-03",
        "end": "2025-02-14",
        "days": 10,
    }
    assert body["twr"] == pytest.approx(0.028596, abs=1e-6)
    assert body["cdi"] == pytest.approx(0.004509, abs=1e-6)
    assert body["pct_cdi"] == 6.342
    assert body["excess_bps"] == pytest.approx(240.87, abs=0.01)
    assert body["dietz"] == pytest.approx(0.028037, abs=1e-6)
    assert body["irr"] == pytest.approx(body["dietz"], abs=0.0005)
    assert body["total_pnl"] == "34765.88"
    assert all(_places(body[k]) <= 8 for k in ("twr", "cdi", "excess", "dietz", "irr"))
    stats = body["stats"]
    assert set(stats) >= {"volatility", "sharpe", "sortino", "max_drawdown", "hit_rate"}
    assert stats["best_day"]["date"] and stats["worst_day"]["ret"] < 0
    assert stats["max_drawdown"] <= 0 and _places(stats["sharpe"]) <= 4
    daily = body["daily"]
    assert len(daily) == 10 and daily[-1]["nav_close"] == "1234765.88"
    assert daily[3]["flows"] == "500000.00"
    assert daily[-1]["cumulative"] == body["twr"]


def test_returns_default_to_the_first_fund_year_to_date(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    body = client.get("/api/attribution/returns/").json()
    assert body["portfolio"] == fund.code and body["period"]["key"] == "ytd"


def test_a_custom_period_runs_between_its_dates(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    query = f"portfolio={fund.code}&period=custom&start=2025-02-05&end=2025-02-11"
    body = client.get(f"/api/attribution/returns/?{query}").json()
    assert body["period"]["days"] == 5 and body["period"]["name"] == "05/02/2025 – 11/02/2025"
    assert body["daily"][0]["date"] == "2025-02-05" and body["daily"][-1]["date"] == "2025-02-11"


def test_contributions_by_strategy_add_up_and_carry_instruments(
    client: Client, fund, viewer_dan
) -> None:
    client.force_login(viewer_dan)
    body = client.get(f"/api/attribution/contributions/?portfolio={fund.code}").json()
    assert body["by"] == "strategy"
    lines = {line["name"]: line for line in body["lines"]}
    assert lines["Equities BR"]["contribution_bps"] == 183.8
    assert lines["FX"]["contribution_bps"] == 56.59
    assert lines["Cash (CDI on cash)"]["contribution_bps"] == 45.57
    assert lines["Cash (CDI on cash)"]["sources"]["cash"] == "5765.88"
    assert {c["name"]: c["pnl"] for c in lines["FX"]["children"]} == {
        "WDOH25": "14000.00",
        "DOLH25": "-7000.00",
    }
    total = body["total"]
    assert total["pnl"] == "34765.88" and total["contribution_bps"] == 285.96
    assert sum(Decimal(line["pnl"]) for line in body["lines"]) == Decimal(total["pnl"])


@pytest.mark.parametrize("by", ["asset_class", "instrument", "source"])
def test_contributions_by_other_groupings_add_up(client: Client, fund, pm_alice, by) -> None:
    client.force_login(pm_alice)
    body = client.get(f"/api/attribution/contributions/?portfolio={fund.code}&by={by}").json()
    assert body["by"] == by
    assert sum(Decimal(line["pnl"]) for line in body["lines"]) == Decimal("34765.88")
    bps = sum(line["contribution_bps"] for line in body["lines"])
    assert bps == pytest.approx(body["total"]["contribution_bps"], abs=0.02)
    if by == "asset_class":
        assert {"Equities BR", "FX"} <= {line["name"] for line in body["lines"]}


def test_an_unknown_grouping_is_a_400(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/api/attribution/contributions/?portfolio={fund.code}&by=desk")
    assert response.status_code == 400
    assert "Unknown grouping 'desk'" in response.json()["by"][0]


def test_the_monthly_grid_is_the_whole_history(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    body = client.get(f"/api/attribution/monthly/?portfolio={fund.code}&period=mtd").json()
    [year] = body["years"]
    assert year["year"] == 2025
    [february] = year["months"]
    assert february["month"] == 2 and february["fund"] == pytest.approx(0.028596, abs=1e-6)
    assert february["pct_cdi"] == 6.342
    assert year["total"]["month"] == 13 and year["total"]["fund"] == february["fund"]


def test_a_stored_snapshot_is_served_rounded(client: Client, fund, viewer_dan) -> None:
    run_attribution(fund, DAYS[-1])
    client.force_login(viewer_dan)
    response = client.get(f"/api/attribution/snapshot/?portfolio={fund.code}&date=2025-02-14")
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2025-02-14" and body["computed_at"]
    assert set(body["periods"]) == {"mtd", "qtd", "ytd", "12m", "itd"}
    itd = body["periods"]["itd"]
    assert itd["pnl"] == "34765.88" and _places(itd["twr"]) <= 8
    assert itd["by_strategy"][0]["bps"] == 183.8
    latest = client.get(f"/api/attribution/snapshot/?portfolio={fund.code}").json()
    assert latest["date"] == "2025-02-14"


def test_a_missing_snapshot_is_a_404_and_a_bad_date_a_400(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    missing = client.get(f"/api/attribution/snapshot/?portfolio={fund.code}&date=2025-02-13")
    assert missing.status_code == 404
    assert "No performance snapshot for" in missing.json()["detail"]
    bad = client.get(f"/api/attribution/snapshot/?portfolio={fund.code}&date=13/02/2025")
    assert bad.status_code == 400
    assert bad.json() == {"date": ["'13/02/2025' is not a date (use YYYY-MM-DD)."]}


def test_the_endpoints_are_in_the_schema(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    schema = client.get("/api/schema/").content.decode()
    for endpoint in ("returns", "contributions", "monthly", "snapshot"):
        assert f"/api/attribution/{endpoint}/" in schema


def test_a_user_without_a_role_is_refused(client: Client, fund, django_user_model) -> None:
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get("/api/attribution/returns/").status_code == 403
