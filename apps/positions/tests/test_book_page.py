"""The book page and its read model: grouping, totals, history, htmx, query count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import DailyMark, NavRecord, Portfolio
from apps.positions.mtm import run_mtm
from apps.positions.queries import build_book
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory

D = Decimal
D1, D2, D3 = date(2025, 1, 31), date(2025, 2, 3), date(2025, 2, 4)

PRICES: dict[str, list[tuple[date, str, str | None]]] = {
    "DI1F26": [
        (D1, "88034.16", "0.14916"),
        (D2, "88093.23", "0.14901"),
        (D3, "88140.00", "0.1489"),
    ],
    "DI1F27": [(D1, "76700.00", "0.1495"), (D2, "76828.74", "0.14875"), (D3, "76850.10", "0.1488")],
    "WDOH25": [(D1, "5850.00", None), (D2, "5839.36", None)],
    "INDG25": [(D1, "126135", None), (D2, "125200", None), (D3, "125900", None)],
    "PETR4": [(D1, "37.80", None), (D2, "37.20", None), (D3, "37.65", None)],
}


def make_fund(book: Any) -> Any:
    """Three strategies, five positions, marked on D1, D2 (WDO closed) and D3."""
    InstrumentFactory.create(ticker="PETR4", equity=True)
    portfolio = book.portfolio
    fx = StrategyFactory.create(portfolio=portfolio, code="fx", name="FX tactical")
    equities = StrategyFactory.create(portfolio=portfolio, code="equities", name="Equities BR")
    for ticker, rows in PRICES.items():
        for day, price, rate in rows:
            book.price(ticker, day, price, rate)
    book.fix("CDI", D1, "0.1315")
    book.fix("CDI", D2, "0.1315")
    book.trade("DI1F26", "BUY", "10", D1, price="88034.16")
    book.trade("DI1F27", "SELL", "5", D1, price="76700.00")
    book.trade("WDOH25", "BUY", "2", D1, price="5845.00", strategy=fx)
    book.trade("PETR4", "BUY", "1000", D1, price="37.50", fees="15.00", strategy=equities)
    book.trade("INDG25", "SELL", "1", D1, price="126000", strategy=equities)
    run_mtm(portfolio, D1)
    book.trade("WDOH25", "SELL", "2", D2, price="5841.00", strategy=fx)
    run_mtm(portfolio, D2)
    run_mtm(portfolio, D3)
    return book


def new_fund(book_at: Any) -> Any:
    """The fund above, on a fresh `book_at` portfolio (shared by the book's test modules)."""
    return make_fund(book_at(D1, "DI1F26", "DI1F27", "WDOH25", "INDG25"))


@pytest.fixture
def fund(book_at: Any) -> Any:
    return new_fund(book_at)


def _row(book: Any, ticker: str) -> Any:
    return next(r for r in book.rows if r.ticker == ticker)


# --- the read model ---------------------------------------------------------------------------


def test_it_groups_by_strategy_with_subtotals_that_add_up(fund) -> None:
    book = build_book(fund.portfolio, D2)
    assert book.status == "ok" and book.as_of == D2
    assert [g.label for g in book.by_strategy] == ["Equities BR", "FX tactical", "Rates BR"]
    rates = next(g for g in book.by_strategy if g.key == "rates-br")
    assert [r.ticker for r in rates.rows] == ["DI1F26", "DI1F27"]
    assert _row(book, "DI1F26").day_pnl_brl == D("159.00")  # 10 × +15.90 (worked example)
    assert rates.totals.day_pnl_brl == sum(r.day_pnl_brl for r in rates.rows)
    assert book.totals.day_pnl_brl == sum(g.totals.day_pnl_brl for g in book.by_strategy)
    # Unfiltered, the positions' day P&L is the NAV bridge's (the closed-today WDO included).
    assert book.headline is not None
    assert book.totals.day_pnl_brl == book.headline.bridge.pnl_brl


def test_rate_quoted_rows_read_in_pu_terms_with_the_rate(fund) -> None:
    book = build_book(fund.portfolio, D2)
    long_pu, short_pu = _row(book, "DI1F26"), _row(book, "DI1F27")
    assert long_pu.side_label == "long PU (dado)" and long_pu.rate == D("0.14901")
    assert short_pu.side_label == "short PU (tomado)" and short_pu.quantity == D("-5")
    assert long_pu.avg_cost == D("88034.16")
    assert long_pu.dv01_brl < 0 < short_pu.dv01_brl  # long PU loses when rates rise
    assert _row(book, "PETR4").side_label == "long" and _row(book, "PETR4").rate is None


def test_mtd_and_ytd_sum_the_marks_of_the_period_in_bps_of_the_opening_nav(fund) -> None:
    book = build_book(fund.portfolio, D2)
    petr = _row(book, "PETR4")
    marks = {m.date: m.pnl_brl for m in DailyMark.objects.filter(position_id=petr.position_id)}
    assert petr.mtd_pnl_brl == marks[D2]  # February started on D2
    assert petr.ytd_pnl_brl == marks[D1] + marks[D2]
    day_one = NavRecord.objects.get(portfolio=fund.portfolio, date=D1)
    assert book.headline is not None
    assert book.headline.month_start_nav == day_one.nav_close  # the NAV that opened February
    assert book.headline.year_start_nav == D("100000000.00")
    assert petr.ytd_pnl_of_nav == (petr.ytd_pnl_brl / D("100000000.00")).quantize(D("1e-10"))


def test_the_headline_closes_the_nav_bridge(fund) -> None:
    h = build_book(fund.portfolio, D3).headline
    assert h is not None
    b = h.bridge
    assert b.nav_close == b.nav_open + b.pnl_brl + b.cash_interest_brl + b.fees_brl + b.flows_brl
    assert h.day_pnl_brl == b.nav_close - b.nav_open - b.flows_brl
    assert h.open_positions == 4
    assert h.cash_brl == NavRecord.objects.get(portfolio=fund.portfolio, date=D3).cash_brl
    assert h.ytd_pnl_brl == h.nav - D("100000000.00")  # no flows


def test_history_reads_the_marks_of_the_date(fund) -> None:
    on_d2, on_d3 = build_book(fund.portfolio, D2), build_book(fund.portfolio, D3)
    assert "WDOH25" in {r.ticker for r in on_d2.rows}  # closed that day, carries its P&L
    assert not _row(on_d2, "WDOH25").is_open
    assert "WDOH25" not in {r.ticker for r in on_d3.rows}
    assert on_d2.is_history and on_d3.is_latest
    assert _row(on_d2, "PETR4").price == D("37.20") and _row(on_d3, "PETR4").price == D("37.65")
    weekend = build_book(fund.portfolio, date(2025, 2, 1))
    assert weekend.as_of == D1


def test_show_closed_adds_positions_closed_earlier_in_the_year(fund) -> None:
    book = build_book(fund.portfolio, D3, include_closed=True)
    wdo = _row(book, "WDOH25")
    assert not wdo.is_open and wdo.closed_on == D2 and wdo.day_pnl_brl == 0
    assert wdo.ytd_pnl_brl == wdo.realized_pnl_brl != 0
    assert book.totals.positions == 4


def test_filters_narrow_rows_not_the_headline(fund) -> None:
    book = build_book(fund.portfolio, D2, strategy="rates-br")
    assert {r.ticker for r in book.rows} == {"DI1F26", "DI1F27"}
    assert book.headline is not None and book.headline.open_positions == 4  # unfiltered
    fx_only = build_book(fund.portfolio, D2, asset_class="FX")
    assert {r.ticker for r in fx_only.rows} == {"WDOH25"}


def test_an_empty_fund_and_a_date_before_inception_are_states_not_crashes(fund) -> None:
    empty = PortfolioFactory.create(code="new-fund", inception_date=D1)
    assert build_book(empty, D2).status == "empty"
    early = build_book(fund.portfolio, date(2024, 12, 2))
    assert early.status == "before_inception" and "before" in early.message


@pytest.fixture
def thirty_positions(book_at: Any) -> Portfolio:
    di1 = [f"DI1{m}26" for m in "FGHJKMNQUV"]
    book = book_at(D1, *di1)
    strategies = [book.strategy] + [
        StrategyFactory.create(portfolio=book.portfolio, code=f"s{i}", name=f"Strategy {i}")
        for i in (2, 3)
    ]
    equities = [f"EQT{i:02d}" for i in range(20)]
    for ticker in equities:
        InstrumentFactory.create(ticker=ticker, equity=True)
    book.fix("CDI", D1, "0.1315")
    for i, ticker in enumerate(di1 + equities):
        rate = "0.14" if ticker.startswith("DI1") else None
        base = D(90000 - 500 * i) if rate else D(20 + i)
        book.price(ticker, D1, str(base), rate)
        book.price(ticker, D2, str(base + D("12.5")), rate)
        side = "BUY" if i % 3 else "SELL"
        book.trade(ticker, side, "10", D1, price=str(base), strategy=strategies[i % 3])
    run_mtm(book.portfolio, D1)
    run_mtm(book.portfolio, D2)
    return book.portfolio


def test_the_read_model_costs_at_most_ten_queries(
    thirty_positions, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(10):
        book = build_book(thirty_positions, D2, include_closed=True)
    assert len(book.rows) == 30 and len(book.by_strategy) == 3
    with django_assert_max_num_queries(10):
        build_book(thirty_positions, D1, strategy="s2", asset_class="EQUITY")


# --- the page -----------------------------------------------------------------------------


def test_the_page_shows_groups_subtotals_and_totals(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get(f"/book/?date={D2:%Y-%m-%d}")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-testid="subtotal"') == 3
    assert body.count('data-testid="position-row"') == 5
    assert "<tfoot>" in body and 'data-testid="totals"' in body
    assert "Equities BR" in body and "Rates BR" in body
    assert "long PU (dado)" in body and "short PU (tomado)" in body
    assert '<td class="num group-start pos">+159</td>' in body  # DI1F26's day P&L, coloured
    assert "88,093.23" in body and "14.901 %" in body
    assert (
        f'href="/book/position/{_row(build_book(fund.portfolio, D2), "DI1F26").position_id}/"'
        in body
    )
    assert "NAV bridge" in body and "CDI on cash" in body


def test_the_default_date_is_the_latest_marked_one(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    response = client.get("/book/")
    assert response.context["book"].as_of == D3
    assert "New trade" not in response.content.decode()  # viewers read only


def test_an_htmx_filter_returns_only_the_partial(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get("/book/?strategy=fx&date=2025-02-03", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "positions/_book_table.html"
    assert "<html" not in body and "topbar" not in body
    assert "WDOH25" in body and "DI1F26" not in body
    assert "HX-Request" in response["Vary"]


def test_a_bad_date_is_a_message_not_a_500(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get("/book/?date=31/01/2025")
    assert response.status_code == 200
    assert "is not a date (use YYYY-MM-DD)" in response.content.decode()
    early = client.get("/book/?date=2024-06-03").content.decode()
    assert "before" in early and "first marked date" in early


def test_a_weekend_date_shows_the_previous_marks(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    body = client.get("/book/?date=2025-02-01").content.decode()
    assert "no marks on 01 Feb 2025" in body


def test_a_fund_without_marks_explains_itself(client: Client, pm_alice) -> None:
    PortfolioFactory.create(code="fresh", name="Fresh fund", inception_date=D1)
    client.force_login(pm_alice)
    body = client.get("/book/").content.decode()
    assert "has no marks yet" in body


def test_no_portfolio_at_all_is_a_clear_state(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    response = client.get("/book/")
    assert response.status_code == 200
    assert "No active portfolio yet" in response.content.decode()


def test_the_portfolio_selector_appears_with_two_funds(client: Client, fund, pm_alice) -> None:
    PortfolioFactory.create(code="zz-other", name="Other fund", inception_date=D1)
    client.force_login(pm_alice)
    body = client.get(f"/book/?portfolio={fund.portfolio.code}").content.decode()
    assert 'id="f-portfolio"' in body and "Other fund" in body
    other = client.get("/book/?portfolio=zz-other")
    assert other.context["book"].portfolio_code == "zz-other"


def test_a_user_without_a_role_is_refused(client: Client, fund, django_user_model) -> None:
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get("/book/").status_code == 403
