from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.positions.models import DailyMark, NavRecord


@pytest.fixture
def wdo_book(book_at):
    book = book_at(date(2025, 2, 3), "WDOH25", "WING25")
    for day, wdo in ((date(2025, 2, 3), "5539.36"), (date(2025, 2, 4), "5575.65")):
        book.price("WDOH25", day, wdo)
        book.fix("CDI", day, "0.1315")
    book.trade("WDOH25", "BUY", "1", date(2025, 2, 3), price="5529.50")
    return book


def test_catch_up_marks_missing_days_in_order(wdo_book) -> None:
    out = StringIO()
    call_command("run_mtm", "--date", "2025-02-04", "--catch-up", stdout=out)
    assert list(NavRecord.objects.values_list("date", flat=True).order_by("date")) == [
        date(2025, 2, 3),
        date(2025, 2, 4),
    ]
    assert "marked 2 day(s) through 2025-02-04" in out.getvalue()


def test_a_day_cannot_be_marked_before_the_previous_one(wdo_book) -> None:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("run_mtm", "--date", "2025-02-04", stderr=err)
    assert "has no MTM for 2025-02-03" in err.getvalue()
    assert not NavRecord.objects.exists()


def test_missing_settlement_lists_the_instruments_and_writes_nothing(wdo_book) -> None:
    wdo_book.trade("WING25", "BUY", "2", date(2025, 2, 3), price="126000")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("run_mtm", "--date", "2025-02-03", stderr=err)
    assert "no settlement price on 2025-02-03 for WING25" in err.getvalue()
    assert not DailyMark.objects.exists() and not NavRecord.objects.exists()


def test_unknown_portfolio_and_weekend_are_clear_errors(wdo_book) -> None:
    with pytest.raises(CommandError, match="No portfolio with code 'nope'"):
        call_command("run_mtm", "--date", "2025-02-03", "--portfolio", "nope")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("run_mtm", "--date", "2025-02-08", stderr=err)
    assert "is not an ANBIMA business day" in err.getvalue()
