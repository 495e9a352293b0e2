"""The factor history the pipelines' market step builds once for every fund of a day: stored in
PostgreSQL under the market's data version, read back exactly, never served once stale."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from apps.marketdata.calendar import business_days, business_days_between
from apps.marketdata.models import Instrument
from apps.marketdata.pricing import di1_pu
from apps.risk import history
from apps.risk.factors import build_history
from apps.risk.models import StoredFactorHistory
from tests.support import Book, BookAt

pytestmark = pytest.mark.django_db

DAYS = business_days_between(date(2025, 1, 2), date(2025, 1, 31))
ASOF = DAYS[-1]
DI1F27 = date(2027, 1, 4)


@pytest.fixture
def market(book_at: BookAt) -> Book:
    """DI1F27, WDOH25, an IND contract and a US-listed stock, with gaps in WDOH25."""
    history.forget()
    book = book_at(DAYS[0], "DI1F27", "WDOH25", "INDG25")
    for ticker, currency in (("AAPL", "USD"), ("PETR4", "BRL")):
        Instrument.objects.create(
            ticker=ticker, name=ticker, kind="EQUITY", asset_class="EQUITY", currency=currency
        )
    for i, day in enumerate(DAYS):
        rate = Decimal("0.15") + Decimal(i) / Decimal(100000)
        book.price("DI1F27", day, str(di1_pu(rate, business_days(day, DI1F27))), str(rate))
        if i != 7:
            book.price("WDOH25", day, str(6000 + i))
        book.price("INDG25", day, str(120000 + 50 * i))
        book.price("AAPL", day, str(Decimal(190) + i))
        book.price("PETR4", day, str(Decimal(38) - Decimal(i) / 10))
        book.fix("PTAX_SELL", day, str(Decimal("6.0") + Decimal(i) / 1000))
    return book


def same(a: Any, b: Any) -> None:
    assert a.dates == b.dates and a.warnings == b.warnings and a.gaps == b.gaps
    assert np.array_equal(a.di, b.di) and np.array_equal(a.dap, b.dap)
    assert sorted(a.linear) == sorted(b.linear)
    for name in a.linear:
        assert np.array_equal(a.linear[name], b.linear[name]), name


def test_the_stored_history_reads_back_exactly_what_was_built(market: Book) -> None:
    stored, built = history.store_history(ASOF)
    assert built and StoredFactorHistory.objects.count() == 1
    history.forget()  # another process: it reads the row
    loaded = history.shared_history(ASOF)
    same(loaded, build_history(ASOF))
    same(stored, loaded)
    assert loaded.gaps and not loaded.di.flags.writeable  # shared by every fund: read-only


def test_a_second_market_step_on_the_same_market_builds_nothing(market: Book) -> None:
    history.store_history(ASOF)
    _, built = history.store_history(ASOF)
    assert not built and StoredFactorHistory.objects.count() == 1
    assert history.is_shared(ASOF)


def test_a_market_write_after_it_was_stored_makes_readers_build_their_own(
    market: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    history.store_history(ASOF)
    market.price("WDOH25", DAYS[7], "6007")  # the hole filled: the market's version moves
    assert not history.is_shared(ASOF)
    builds: list[date] = []

    def build(asof: date, days: int) -> str:
        builds.append(asof)
        return "built here"

    monkeypatch.setattr(history, "build_history", build)
    assert history.shared_history(ASOF) == "built here" and builds == [ASOF]


def test_a_local_stock_moves_with_ibov_and_a_foreign_one_has_its_own_factor(
    market: Book,
) -> None:
    """factor_of gives a BRL equity the IBOV factor: no series of its own is built."""
    names = set(build_history(ASOF).linear)
    assert {"IBOV", "USDBRL", "CUPOM", "EQ:AAPL"} <= names
    assert "EQ:PETR4" not in names
