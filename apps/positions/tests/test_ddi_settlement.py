"""DDI/FRC daily settlement in BRL: B3 converts every ajuste at PTAX_{t−1}, opened or carried."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.positions.models import DailyMark
from apps.positions.mtm import run_mtm

pytestmark = pytest.mark.django_db

D = Decimal
MON, TUE, WED = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)


def _market(book: Any) -> None:
    book.fix("PTAX_SELL", date(2025, 1, 31), "5.7500")  # PTAX_{t−2} of Tuesday's carry factor
    for day, pu, rate, ptax in [
        (MON, "95000.00", "0.05", "5.8000"),
        (TUE, "95100.00", "0.049", "5.9000"),
        (WED, "95150.00", "0.048", "5.9500"),
    ]:
        book.price("DDIF26", day, pu, rate)
        book.fix("PTAX_SELL", day, ptax)
        book.fix("CDI", day, "0.1315")


def _mark(book: Any, day: date) -> DailyMark:
    return DailyMark.objects.get(portfolio=book.portfolio, date=day)


def test_a_ddi_opened_today_settles_at_the_previous_ptax(book_at) -> None:
    book = book_at(TUE, "DDIF26")
    _market(book)
    book.trade("DDIF26", "BUY", "10", TUE, price="95000.00")
    run_mtm(book.portfolio, TUE)
    # (PA − PO) × USD 0.50 × PTAX_{t−1} × N = 100 × 0.5 × 5.8000 × 10, not × 5.9000.
    assert _mark(book, TUE).pnl_brl == D("2900.00")


def test_a_same_day_fill_does_not_depend_on_an_existing_position(book_at) -> None:
    new = book_at(TUE, "DDIF26")
    _market(new)
    new.trade("DDIF26", "BUY", "10", TUE, price="95000.00")
    run_mtm(new.portfolio, TUE)

    held = book_at(MON, "DDIF26")
    held.trade("DDIF26", "BUY", "1", MON, price="95000.00")
    run_mtm(held.portfolio, MON)
    held.trade("DDIF26", "BUY", "10", TUE, price="95000.00")
    run_mtm(held.portfolio, TUE)
    carried = _mark(held, TUE).pnl_brl - _mark(new, TUE).pnl_brl
    # What the 1 carried contract made alone, so the 10 new ones settled exactly as `new`'s.
    alone = book_at(MON, "DDIF26")
    alone.trade("DDIF26", "BUY", "1", MON, price="95000.00")
    run_mtm(alone.portfolio, MON)
    run_mtm(alone.portfolio, TUE)
    assert carried == _mark(alone, TUE).pnl_brl


def test_the_dv01_of_a_new_ddi_is_at_the_previous_ptax(book_at) -> None:
    new = book_at(TUE, "DDIF26")
    _market(new)
    new.trade("DDIF26", "BUY", "10", TUE, price="95000.00")
    run_mtm(new.portfolio, TUE)
    held = book_at(MON, "DDIF26")
    held.trade("DDIF26", "BUY", "10", MON, price="95000.00")
    run_mtm(held.portfolio, MON)
    run_mtm(held.portfolio, TUE)
    assert _mark(new, TUE).dv01_brl == _mark(held, TUE).dv01_brl != 0
