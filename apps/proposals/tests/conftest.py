"""A fund with WDO prices and helpers to propose."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from apps.marketdata.models import Instrument
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, create_proposal
from apps.proposals.tests.support import SAO_PAULO, TODAY
from tests.support import Book, BookAt


@pytest.fixture(autouse=True)
def _trading_morning() -> Iterator[None]:
    """Proposals live for one trading day: run the workflow on the morning of TODAY."""
    with time_machine.travel(datetime(2025, 2, 4, 10, 0, tzinfo=SAO_PAULO), tick=True):
        yield


@pytest.fixture
def fund(book_at: BookAt) -> Book:
    book = book_at(date(2025, 2, 3), "WDOH25", "DI1F27")
    book.price("WDOH25", date(2025, 2, 3), "5539.36")
    book.price("WDOH25", TODAY, "5575.65")
    book.fix("CDI", date(2025, 2, 3), "0.1315")
    return book


@pytest.fixture
def propose(fund: Book, pm_alice: User) -> Callable[..., Proposal]:
    def _propose(by: User = pm_alice, qty: str = "10", **kw: Any) -> Proposal:
        return create_proposal(
            portfolio=fund.portfolio,
            strategy=fund.strategy,
            instrument=Instrument.objects.get(ticker=kw.pop("ticker", "WDOH25")),
            terms=Terms(kw.pop("side", "BUY"), Decimal(qty), kw.pop("limit_price", None)),
            rationale=kw.pop("rationale", "Dollar trending up after the fiscal package."),
            business_date=kw.pop("business_date", TODAY),
            by=by,
            source=kw.pop("source", "manual"),
        )

    return _propose
