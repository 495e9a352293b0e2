"""The intraday estimate: the MTM's own B3 rules on intraday prices, never touching the official
marks; entered on the book's grid, by CSV or by the API, all or nothing, journaled."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from time_machine import TimeMachineFixture

from apps.journal.models import Entry as JournalEntry
from apps.journal.models import EntryKind
from apps.marketdata.calendar import business_days
from apps.marketdata.intraday import Entry, enter_prices
from apps.marketdata.intraday_csv import parse_csv
from apps.marketdata.models import Instrument, IntradayPrice, SettlementPrice
from apps.marketdata.pricing import di1_pu
from apps.positions.intraday import estimate
from apps.positions.models import DailyMark, NavRecord
from apps.positions.mtm import catch_up, run_mtm
from tests.support import Book, BookAt, log_in

D = Decimal
CLOSE, TODAY = date(2025, 3, 10), date(2025, 3, 11)
AT_11 = datetime(2025, 3, 11, 11, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


@pytest.fixture
def di1_book(book_at: BookAt, time_machine: TimeMachineFixture) -> Book:
    """Long 200 DI1F27 and short 5 WDOJ25, marked on CLOSE; the clock at 11:00 the next day."""
    book = book_at(CLOSE, "DI1F27", "WDOJ25")
    maturity = Instrument.objects.get(ticker="DI1F27").maturity
    assert maturity is not None
    book.price("DI1F27", CLOSE, str(di1_pu(D("0.1450"), business_days(CLOSE, maturity))), "0.1450")
    book.price("WDOJ25", CLOSE, "5800.0")
    book.fix("CDI", CLOSE, "0.1315")
    book.fix("PTAX_SELL", CLOSE, "5.8000")
    book.trade("DI1F27", "BUY", "200", CLOSE, rate="0.1450")
    book.trade("WDOJ25", "SELL", "5", CLOSE, price="5800.0")
    catch_up(book.portfolio, CLOSE)
    time_machine.move_to(AT_11, tick=False)
    return book


def official() -> list[tuple[object, ...]]:
    marks = DailyMark.objects.order_by("pk").values_list("date", "price", "pnl_brl", "computed_at")
    navs = NavRecord.objects.order_by("pk").values_list("date", "nav_close", "computed_at")
    prices = SettlementPrice.objects.order_by("pk").values_list("date", "price", "rate")
    return [*marks, *navs, *prices]


def test_an_intraday_di1_rate_gives_the_pnl_the_eod_would_with_that_rate_as_settlement(
    di1_book: Book,
) -> None:
    enter_prices([Entry("DI1F27", rate_pct=D("14.70"))], by=di1_book.user, source="API")
    guess = estimate(di1_book.portfolio)
    assert guess.status == "ok" and guess.base_day == CLOSE and guess.day == TODAY
    di1 = next(row for row in guess.rows if row.ticker == "DI1F27")
    assert di1.source == "intraday" and di1.rate == D("0.1470")
    assert di1.pnl < 0  # long PU, rates up 20 bp

    # The same rate as the day's settlement, through the EOD's MTM.
    maturity = Instrument.objects.get(ticker="DI1F27").maturity
    assert maturity is not None
    pu = di1_pu(D("0.1470"), business_days(TODAY, maturity))
    di1_book.price("DI1F27", TODAY, str(pu), "0.1470")
    di1_book.price("WDOJ25", TODAY, "5800.0")
    di1_book.fix("PTAX_SELL", TODAY, "5.8000")
    run_mtm(di1_book.portfolio, TODAY)
    mark = DailyMark.objects.get(date=TODAY, position__instrument__ticker="DI1F27")
    assert mark.pnl_brl == di1.pnl
    assert mark.dv01_brl == di1.dv01


def test_intraday_prices_leave_the_official_marks_and_prices_untouched(di1_book: Book) -> None:
    before = official()
    enter_prices(
        [Entry("DI1F27", rate_pct=D("14.70")), Entry("WDOJ25", price=D("5850.5"))],
        by=di1_book.user,
        source="GRID",
    )
    guess = estimate(di1_book.portfolio)
    wdo = next(row for row in guess.rows if row.ticker == "WDOJ25")
    assert wdo.pnl == D("-5") * (D("5850.5") - D("5800.0")) * 10  # short 5 × R$ 10 a point
    assert official() == before
    assert not SettlementPrice.objects.filter(date=TODAY).exists()


def test_an_unchanged_rate_shows_only_the_days_carry(di1_book: Book) -> None:
    """No intraday price: the close's rate rolled to today, so the P&L is the carry alone."""
    guess = estimate(di1_book.portfolio)
    di1 = next(row for row in guess.rows if row.ticker == "DI1F27")
    assert di1.source == "close" and di1.rate == D("0.1450")
    assert abs(di1.pnl) < D("2000")  # 200 contracts: a day's carry spread, not a rate move


def test_a_bad_entry_refuses_the_whole_batch_with_each_reason(di1_book: Book) -> None:
    with pytest.raises(ValidationError) as refused:
        enter_prices(
            [
                Entry("DI1F27", rate_pct=D("14.70"), where="line 2"),
                Entry("DI1F27", price=D("90000"), where="line 3"),
                Entry("WDOJ25", rate_pct=D("5.2"), where="line 4"),
                Entry("NOPE", price=D("1"), where="line 5"),
            ],
            by=di1_book.user,
            source="CSV",
        )
    messages = refused.value.messages
    assert any(m.startswith("line 3: DI1F27 is quoted as a rate") for m in messages)
    assert any(m.startswith("line 4: WDOJ25 is quoted as a price") for m in messages)
    assert any(m.startswith("line 5: 'NOPE' is not a known instrument") for m in messages)
    assert not IntradayPrice.objects.exists()


def test_each_entry_is_journaled(di1_book: Book) -> None:
    enter_prices([Entry("WDOJ25", price=D("5830"))], by=di1_book.user, source="GRID")
    entry = JournalEntry.objects.get(kind=EntryKind.INTRADAY_PRICES)
    assert entry.snapshot["prices"][0]["instrument"] == "WDOJ25"
    assert entry.actor_id == di1_book.user.pk


def test_a_brazilian_csv_parses_and_a_bad_line_is_named() -> None:
    entries = parse_csv("ticker;price;rate;time\nWDOJ25;5.850,50;;10:15\nDI1F27;;14,70;\n")
    assert entries[0].price == D("5850.50") and entries[0].at is not None
    assert entries[1].rate_pct == D("14.70")
    with pytest.raises(ValidationError) as refused:
        parse_csv("ticker,price\nWDOJ25,abc\n")
    assert refused.value.messages == ["line 2, column price: 'abc' is not a number."]


def test_the_grid_and_the_api_enter_prices_and_the_book_api_shows_the_estimate(
    di1_book: Book, client: Client
) -> None:
    assert log_in(client, di1_book.user.username, "correct-horse-battery-staple")
    code = di1_book.portfolio.code
    response = client.post(
        "/book/intraday/", {"portfolio": code, "q-DI1F27": "14.70", "q-WDOJ25": ""}
    )
    assert response.status_code == 302
    assert IntradayPrice.objects.get().rate == D("0.1470")
    page = client.get(f"/book/?portfolio={code}")
    assert b'data-testid="intraday"' in page.content and b"Intraday" in page.content

    body = {"prices": [{"instrument": "WDOJ25", "price": "5811.5"}]}
    created = client.post("/api/intraday-prices/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    bad = client.post(
        "/api/intraday-prices/",
        {"prices": [{"instrument": "WDOJ25", "rate_pct": "1"}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "quoted as a price" in bad.json()["prices"][0]
    book = client.get(f"/api/book/?portfolio={code}&intraday=1").json()
    intraday = book["intraday"]
    assert intraday["provisional"] is True and intraday["status"] == "ok"
    assert {row["source"] for row in intraday["rows"]} == {"intraday"}
