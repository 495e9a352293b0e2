"""VaR scenarios are daily moves between consecutive ANBIMA business days: a business day
without prices is reported (dates and instruments) and never spanned by one "daily" move."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.marketdata.calendar import business_days, business_days_between
from apps.marketdata.models import Fixing
from apps.marketdata.pricing import di1_pu
from apps.positions.models import Portfolio
from apps.positions.mtm import catch_up
from apps.risk.factors import build_history
from apps.risk.services import compute_report
from tests.support import Book

pytestmark = pytest.mark.django_db

DAYS = business_days_between(date(2025, 1, 2), date(2025, 2, 14))
DI1F27 = date(2027, 1, 4)
GAP = DAYS[10]  # 2025-01-16: no price at all (a failed import)
HOLE = DAYS[20]  # 2025-01-30: WDOH25 not priced (the DI1 was)


def _market(book_at: Any, *, skip_day: date | None = None, hole: date | None = None) -> None:
    book = book_at(DAYS[0], "DI1F27", "WDOH25")
    for i, day in enumerate(DAYS):
        if day == skip_day:
            continue
        rate = Decimal("0.15") + Decimal(i) / Decimal(100000)
        book.price("DI1F27", day, str(di1_pu(rate, business_days(day, DI1F27))), str(rate))
        if day != hole:
            book.price("WDOH25", day, str(6000 + i))
        book.fix("PTAX_SELL", day, str(Decimal("6.0") + Decimal(i) / 1000))


def test_a_business_day_without_prices_is_not_spanned(book_at) -> None:
    _market(book_at, skip_day=GAP)
    history = build_history(DAYS[-1])
    after = DAYS[11]
    # The moves into and out of the gap are left out, not replaced by one two-day move.
    assert GAP not in history.dates and after not in history.dates
    assert history.size == len(DAYS) - 1 - 2
    assert history.gaps == [(GAP, ["all instruments"])]
    assert any("2025-01-16" in w and "left out" in w for w in history.warnings)


def test_an_instrument_missing_inside_the_window_is_reported(book_at) -> None:
    _market(book_at, hole=HOLE)
    history = build_history(DAYS[-1])
    assert history.size == len(DAYS) - 1  # the day itself has prices: no move is dropped
    assert (HOLE, ["WDOH25"]) in history.gaps
    assert any("2025-01-30" in w and "WDOH25" in w for w in history.warnings)


def test_a_complete_history_reports_no_gap(book_at) -> None:
    _market(book_at)
    history = build_history(DAYS[-1])
    assert history.size == len(DAYS) - 1 and history.gaps == []
    assert history.dates == DAYS[1:]


def test_the_report_and_api_list_the_gaps(book_at, client, pm_alice, viewer_dan) -> None:
    _market(book_at, hole=HOLE)
    portfolio = Portfolio.objects.get()
    for day in DAYS:
        Fixing.objects.create(index="CDI", date=day, value=Decimal("0.1315"))
    book = Book(portfolio, portfolio.strategies.get(), pm_alice)
    book.trade("DI1F27", "BUY", "10", DAYS[0], rate="0.15")
    catch_up(portfolio, DAYS[-1])
    gap = {"date": "2025-01-30", "instruments": ["WDOH25"]}
    assert gap in compute_report(portfolio, DAYS[-1]).history_gaps
    client.force_login(viewer_dan)
    body = client.get(f"/api/risk/live/?portfolio={portfolio.code}").json()
    assert gap in body["report"]["history_gaps"]
