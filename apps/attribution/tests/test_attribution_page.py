"""The attribution page: cards, charts' data, tables that add up, drill-down, htmx, CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.attribution.tests.test_golden_book import DAYS, IND, WDO
from apps.positions.mtm import catch_up
from apps.positions.services import record_flow
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _golden_figures_over_ten_days(settings: Any) -> None:
    """The golden book is 10 days: its estimates are checked as figures, not as "n/a"."""
    settings.STATS_MIN_RETURNS = 10


def golden_fund(book_at: Any, user: Any) -> Any:
    """The golden book of `test_golden_book` (TWR 285.96 bp, 634.20 % of CDI)."""
    book = book_at(DAYS[0], "INDJ25", "WDOH25", "DOLH25")
    book.portfolio.initial_nav = Decimal("1000000.00")
    book.portfolio.save(update_fields=["initial_nav"])
    equities = StrategyFactory.create(portfolio=book.portfolio, code="equities", name="Equities BR")
    fx = StrategyFactory.create(portfolio=book.portfolio, code="fx", name="FX")
    for day, ind, wdo in zip(DAYS, IND, WDO, strict=True):
        book.price("INDJ25", day, str(ind))
        book.price("WDOH25", day, str(wdo))
        book.price("DOLH25", day, str(wdo))
        book.fix("CDI", day, "0.1342464509")
    book.trade("INDJ25", "BUY", "10", DAYS[0], price="126000", strategy=equities)
    book.trade("WDOH25", "SELL", "20", DAYS[0], price="5800", strategy=fx)
    book.trade("DOLH25", "BUY", "2", DAYS[0], price="5800", strategy=fx)
    record_flow(book.portfolio, day=DAYS[3], kind="SUBSCRIPTION", amount=Decimal(500000), by=user)
    record_flow(book.portfolio, day=DAYS[7], kind="REDEMPTION", amount=Decimal(300000), by=user)
    catch_up(book.portfolio, DAYS[-1])
    return book.portfolio


@pytest.fixture
def fund(book_at: Any, pm_alice: Any) -> Any:
    return golden_fund(book_at, pm_alice)


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_headline_cards(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    response = client.get(f"/attribution/?portfolio={fund.code}&period=itd")
    body = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "attribution/page.html"
    assert 'data-testid="kpi-twr">+2.86 %' in body
    assert 'data-testid="kpi-pct-cdi">634.2 %' in body
    assert 'data-testid="kpi-pnl">+34,766' in body
    for label in (
        "CDI",
        "Excess over CDI",
        "Modified Dietz",
        "IRR",
        "Annualised",
        "Volatility",
        "Sharpe",
        "Sortino",
        "Max drawdown",
        "Hit rate",
        "Best day",
        "Worst day",
    ):
        assert label in body
    assert "+2.80 %" in body  # modified Dietz, 280.37 bp
    assert "+241 bp" in body  # excess over CDI: 285.96 − 45.09
    for canvas in ("chart-cumulative", "chart-drawdown", "chart-strategies"):
        assert f'<canvas id="{canvas}"' in body
    assert 'id="attribution-data"' in body


def test_the_strategy_table_adds_up_and_drills_into_instruments(
    client: Client, fund, pm_alice
) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&period=itd")
    rows = response.context["tables"]["strategy"]["rows"]
    total = response.context["tables"]["strategy"]["total"]
    assert [g.name for g, _, _ in rows] == ["Equities BR", "FX", "Cash (CDI on cash)"]
    assert total.pnl == sum(g.pnl for g, _, _ in rows) == Decimal("34765.88")
    assert total.contribution == pytest.approx(0.028596, abs=1e-6)
    fx = next(children for g, _, children in rows if g.name == "FX")
    assert {c.name: c.pnl for c, _ in fx} == {
        "WDOH25": Decimal("14000.00"),
        "DOLH25": Decimal("-7000.00"),
    }
    body = response.content.decode()
    assert body.count('data-testid="row-strategy"') == 3
    assert body.count('data-testid="instrument-row" hidden') == 3  # closed until expanded
    assert body.count('data-testid="expand"') == 2  # cash has no instruments
    assert "+183.8 bp" in body and "+56.6 bp" in body and "+45.6 bp" in body
    assert 'data-testid="total-strategy"' in body and "+286.0 bp" in body


def test_every_table_has_a_total_equal_to_its_rows(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    tables = client.get(f"/attribution/?portfolio={fund.code}").context["tables"]
    for by in ("strategy", "asset_class", "instrument", "source"):
        items = [row[0] for row in tables[by]["rows"]]
        assert sum(g.pnl for g in items) == tables[by]["total"].pnl == Decimal("34765.88")
        assert sum(g.contribution for g in items) == pytest.approx(0.028596, abs=1e-6)
    asset_names = [row[0].name for row in tables["asset_class"]["rows"]]
    assert "Equities BR" in asset_names and "FX" in asset_names  # labels, not codes


def test_the_chart_data_are_percent_series_by_date(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    charts = client.get(f"/attribution/?portfolio={fund.code}").context["charts"]
    # The lines start from 0 on the business day before the period.
    assert charts["dates"][:2] == ["2025-01-31", "2025-02-03"]
    assert charts["dates"][-1] == "2025-02-14"
    assert charts["fund"][0] == charts["cdi"][0] == charts["drawdown"][0] == 0
    assert charts["fund"][-1] == pytest.approx(2.8596, abs=1e-4)
    assert charts["cdi"][-1] == pytest.approx(0.4509, abs=1e-4)
    assert max(charts["drawdown"]) <= 0
    assert charts["strategies"]["names"][0] == "Equities BR"
    assert charts["strategies"]["bps"][0] == pytest.approx(183.80, abs=0.01)
    assert charts["strategies"]["pnl"][0] == 22000.0


def test_the_monthly_grid_covers_the_whole_history(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    custom = f"period=custom&start={DAYS[2]:%Y-%m-%d}&end={DAYS[5]:%Y-%m-%d}"
    response = client.get(f"/attribution/?portfolio={fund.code}&{custom}")
    [year] = response.context["history"]
    assert year.year == 2025 and year.months[0] is None
    february = year.months[1]
    assert february.fund == pytest.approx(0.028596, abs=1e-6)  # not the custom period's
    assert february.pct_cdi == pytest.approx(6.342, abs=1e-3)
    body = response.content.decode()
    assert 'data-testid="monthly-grid"' in body and "+2.86 %" in body and "634 %" in body


def test_an_htmx_period_switch_returns_the_partial(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    query = f"portfolio={fund.code}&period=custom&start=2025-02-05&end=2025-02-12"
    response = client.get(f"/attribution/?{query}", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "attribution/_body.html"
    assert "<html" not in body and "topbar" not in body
    assert "05/02/2025 – 12/02/2025" in body
    assert response.context["result"].period.start.isoformat() == "2025-02-05"
    assert 'id="attribution-data"' in body  # the charts redraw from the swapped data
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(
        f"/attribution/?portfolio={fund.code}",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert response.templates[0].name == "attribution/page.html"


def test_the_portfolio_selector_lists_active_funds(client: Client, fund, pm_alice) -> None:
    PortfolioFactory.create(code="zz-other", name="Other fund")
    client.force_login(pm_alice)
    body = client.get(f"/attribution/?portfolio={fund.code}").content.decode()
    assert 'id="f-portfolio"' in body and "Other fund" in body
    other = client.get("/attribution/?portfolio=zz-other").content.decode()
    assert "has no marked day" in other


def test_every_role_may_read_and_nobody_else(client: Client, fund, django_user_model) -> None:
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get("/attribution/").status_code == 403
    client.logout()
    assert client.get("/attribution/").status_code == 302  # to the login page


def test_the_navigation_links_the_page(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    body = client.get("/attribution/").content.decode()
    assert 'href="/attribution/" class="active"' in body


def test_no_portfolio_at_all_is_a_clear_state(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get("/attribution/")
    assert response.status_code == 200
    assert "No active portfolio yet" in response.content.decode()


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["strategy", "asset_class", "instrument", "source"])
def test_a_contribution_csv_has_a_header_rows_and_their_total(
    client: Client, fund, pm_alice, table
) -> None:
    client.force_login(pm_alice)
    response = client.get(
        f"/attribution/?portfolio={fund.code}&period=itd&format=csv&table={table}"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="attribution_{fund.code}_{table}_2025-02-03_2025-02-14.csv"'
    )
    header, *rows, total = _csv(response)
    assert header[:3] == [table, "pnl_brl", "contribution_bp"]
    assert total[0] == "Total" and total[1] == "34765.88" and total[2] == "285.96"
    assert sum(Decimal(r[1]) for r in rows) == Decimal(total[1])
    assert sum(float(r[2]) for r in rows) == pytest.approx(float(total[2]), abs=0.02)
    for column in range(3, len(header)):  # each source column adds up too
        assert sum(Decimal(r[column]) for r in rows) == Decimal(total[column])
    for r in rows:  # a row's sources add up to its P&L
        assert len(header) == 3 or sum(Decimal(x) for x in r[3:]) == Decimal(r[1])
    assert all("," not in cell for row in rows for cell in row[1:])  # no thousands separators


def test_the_strategy_csv_reads_like_the_golden_book(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&format=csv&table=strategy")
    header, *rows, _ = _csv(response)
    assert header == [
        "strategy",
        "pnl_brl",
        "contribution_bp",
        "price_brl",
        "carry_brl",
        "fx_brl",
        "fees_brl",
        "cash_brl",
    ]
    assert rows[0] == [
        "Equities BR",
        "22000.00",
        "183.80",
        "22000.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
    ]
    assert rows[-1][:3] == ["Cash (CDI on cash)", "5765.88", "45.57"]
    assert rows[-1][-1] == "5765.88"


def test_the_daily_csv_chains_to_the_twr(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&format=csv&table=daily")
    header, *rows = _csv(response)
    assert header[0] == "date" and "return_pct" in header and "drawdown_pct" in header
    assert len(rows) == len(DAYS) and rows[0][0] == "2025-02-03"
    growth = 1.0
    for r in rows:
        growth *= 1 + float(r[header.index("return_pct")]) / 100
    assert (growth - 1) * 100 == pytest.approx(2.8596, abs=1e-4)
    assert float(rows[-1][header.index("cumulative_pct")]) == pytest.approx(2.8596, abs=1e-4)
    assert rows[3][header.index("flows_brl")] == "500000.00"


def test_the_monthly_csv_lists_months_then_the_year(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/attribution/?portfolio={fund.code}&format=csv&table=monthly")
    assert 'filename="attribution_' in response["Content-Disposition"]
    assert "_monthly_2025_2025.csv" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == ["year", "month", "fund_return_pct", "cdi_return_pct", "pct_of_cdi"]
    assert rows == [
        ["2025", "2", rows[0][2], rows[0][3], "634.20"],
        ["2025", "year", rows[0][2], rows[0][3], "634.20"],
    ]
    assert float(rows[0][2]) == pytest.approx(2.8596, abs=1e-4)
    assert float(rows[0][3]) == pytest.approx(0.4509, abs=1e-4)


def test_a_bad_csv_request_is_a_400_with_a_reason(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    unknown = client.get(f"/attribution/?portfolio={fund.code}&format=csv&table=positions")
    assert unknown.status_code == 400 and "Unknown table 'positions'" in unknown.content.decode()
    reversed_range = client.get(
        f"/attribution/?portfolio={fund.code}&start=2025-02-10&end=2025-02-05&format=csv&table=strategy"
    )
    assert reversed_range.status_code == 400
    assert "reversed" in reversed_range.content.decode()


def test_the_page_costs_a_bounded_number_of_queries(
    client: Client, fund, pm_alice, django_assert_max_num_queries
) -> None:
    """Session, roles, the form, the read model (bulk reads) and the monthly grid: ~15."""
    client.force_login(pm_alice)
    client.get(f"/attribution/?portfolio={fund.code}")  # the fund picked (and remembered)
    with django_assert_max_num_queries(16):
        client.get(f"/attribution/?portfolio={fund.code}&period=itd")
