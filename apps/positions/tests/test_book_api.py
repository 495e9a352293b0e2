"""The book API: the read model as JSON, positions, trades, the MTM run, the schema."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from apps.positions.models import DailyMark, NavRecord, Trade
from apps.positions.tests.test_book_page import D2, D3, PRICES, new_fund


@pytest.fixture
def fund(book_at: Any) -> Any:
    return new_fund(book_at)


def test_the_book_is_json_with_decimals_as_strings(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    response = client.get(f"/api/book/?portfolio={fund.portfolio.code}&date=2025-02-03")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2025-02-03" and body["status"] == "ok"
    rows = {r["ticker"]: r for r in body["rows"]}
    assert rows["DI1F26"]["day_pnl_brl"] == "159.00"
    assert rows["DI1F26"]["side_label"] == "long PU (dado)"
    assert rows["DI1F26"]["rate"] == "0.1490100000"
    assert [g["name"] for g in body["by_strategy"]] == ["Equities BR", "FX tactical", "Rates BR"]
    nav = NavRecord.objects.get(portfolio=fund.portfolio, date=D2)
    assert body["headline"]["nav"] == str(nav.nav_close)
    assert body["headline"]["bridge"]["cash_interest_brl"] == str(nav.cash_interest_brl)
    assert isinstance(body["totals"]["day_pnl_brl"], str)


def test_the_book_defaults_to_the_latest_marks_and_filters(
    client: Client, fund, viewer_dan
) -> None:
    client.force_login(viewer_dan)
    body = client.get("/api/book/?strategy=rates-br").json()
    assert body["as_of"] == "2025-02-04"
    assert {r["ticker"] for r in body["rows"]} == {"DI1F26", "DI1F27"}
    closed = client.get("/api/book/?closed=true").json()
    assert "WDOH25" in {r["ticker"] for r in closed["rows"]}


def test_the_book_refuses_a_bad_date_or_portfolio(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    bad = client.get("/api/book/?date=03/02/2025")
    assert bad.status_code == 400 and "not a date" in bad.json()["date"]
    # A fund the user may not see and a fund that does not exist: the same 404 (issue 17).
    assert client.get("/api/book/?portfolio=nope").status_code == 404
    early = client.get("/api/book/?date=2024-01-02").json()
    assert early["status"] == "before_inception" and early["rows"] == []


def test_positions_filter_by_open(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    code = fund.portfolio.code
    open_rows = client.get(f"/api/positions/?portfolio={code}&open=true").json()["results"]
    closed = client.get(f"/api/positions/?portfolio={code}&open=false").json()["results"]
    assert {p["ticker"] for p in open_rows} == {"DI1F26", "DI1F27", "INDG25", "PETR4"}
    assert [p["ticker"] for p in closed] == ["WDOH25"]
    assert next(p for p in open_rows if p["ticker"] == "PETR4")["avg_cost"] == "37.50000000"


def test_trades_filter_by_dates(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    code = fund.portfolio.code
    rows = client.get(f"/api/trades/?portfolio={code}&from=2025-02-03&to=2025-02-03").json()
    assert [(t["ticker"], t["side"]) for t in rows["results"]] == [("WDOH25", "SELL")]
    assert len(client.get(f"/api/trades/?portfolio={code}").json()["results"]) == 6
    assert client.get("/api/trades/?from=yesterday").status_code == 400


def test_back_office_runs_the_mtm(client: Client, fund, bo_carol) -> None:
    day = date(2025, 2, 5)
    for ticker, rows in PRICES.items():
        if ticker != "WDOH25":
            fund.price(ticker, day, rows[-1][1], rows[-1][2])
    fund.fix("CDI", D3, "0.1315")
    client.force_login(bo_carol)
    response = client.post(
        "/api/mtm/", {"portfolio": fund.portfolio.code, "date": "2025-02-05"}, "application/json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["marks"] == 4
    assert DailyMark.objects.filter(portfolio=fund.portfolio, date=day).count() == 4
    assert NavRecord.objects.filter(portfolio=fund.portfolio, date=day).exists()


def test_an_mtm_with_missing_prices_lists_them_and_writes_nothing(
    client: Client, fund, pm_alice
) -> None:
    fund.price("PETR4", date(2025, 2, 5), "38.00")
    client.force_login(pm_alice)
    response = client.post(
        "/api/mtm/", {"portfolio": fund.portfolio.code, "date": "2025-02-05"}, "application/json"
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "no settlement price on 2025-02-05 for DI1F26, DI1F27, INDG25" in detail
    assert not DailyMark.objects.filter(date=date(2025, 2, 5)).exists()
    assert not NavRecord.objects.filter(date=date(2025, 2, 5)).exists()


def test_viewers_and_approvers_cannot_run_the_mtm(
    client: Client, fund, viewer_dan, cio_bob
) -> None:
    for user in (viewer_dan, cio_bob):
        client.force_login(user)
        response = client.post(
            "/api/mtm/",
            {"portfolio": fund.portfolio.code, "date": "2025-02-04"},
            "application/json",
        )
        assert response.status_code == 403
    assert Trade.objects.count() == 6


def test_the_schema_documents_the_book_api(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/book/", "/api/positions/", "/api/trades/", "/api/trades/{id}/reverse/"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/mtm/"]
    assert "post" in schema["paths"]["/api/trades/"]
    book_row = schema["components"]["schemas"]["BookRow"]["properties"]
    assert (
        book_row["day_pnl_brl"]["type"] == "string"
        and book_row["day_pnl_brl"]["format"] == "decimal"
    )
