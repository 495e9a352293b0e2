"""CSV settlement-price import: the documented format, every refusal, all or nothing."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.marketdata.calendar import add_business_days
from apps.marketdata.importers import ImportFailed, import_price_csv
from apps.marketdata.models import PriceSource, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory, SettlementPriceFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "date,ticker,price,rate\n"


@pytest.fixture(autouse=True)
def instruments() -> None:
    for ticker in ("DI1F26", "DI1F27", "WDOH25"):
        InstrumentFactory.create(ticker=ticker)


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(source: Path | io.StringIO, **kwargs: object) -> list[str]:
    with pytest.raises(ImportFailed) as failure:
        import_price_csv(source, **kwargs)  # type: ignore[arg-type]
    assert SettlementPrice.objects.count() == 0, "nothing may be written on an error"
    return failure.value.errors


def test_it_imports_the_documented_format(bo_carol) -> None:
    result = import_price_csv(FIXTURES / "prices_good.csv", user=bo_carol)

    assert (result.created, result.unchanged, result.source) == (6, 0, "CSV")
    assert (result.first_date, result.last_date) == (date(2025, 1, 31), date(2025, 2, 3))
    row = SettlementPrice.objects.get(instrument__ticker="DI1F26", date=date(2025, 2, 3))
    assert row.source == PriceSource.CSV
    assert row.price == Decimal("88093.23")
    assert row.rate == Decimal("0.14901")  # published 14.901 %, stored as a fraction
    assert row.created_by == bo_carol
    wdo = SettlementPrice.objects.get(instrument__ticker="WDOH25", date=date(2025, 2, 3))
    assert (wdo.price, wdo.rate) == (Decimal("5868"), None)


def test_importing_the_same_file_again_adds_nothing() -> None:
    import_price_csv(FIXTURES / "prices_good.csv")
    result = import_price_csv(FIXTURES / "prices_good.csv")

    assert (result.created, result.unchanged) == (0, 6)
    assert SettlementPrice.objects.count() == 6


def test_a_file_overlapping_stored_prices_adds_only_the_new_rows(tmp_path: Path) -> None:
    import_price_csv(FIXTURES / "prices_good.csv")
    path = write(
        tmp_path,
        HEADER + "2025-02-03,DI1F26,88093.23,14.901\n2025-02-04,DI1F26,88130.10,14.890\n",
    )
    result = import_price_csv(path)

    assert (result.created, result.unchanged) == (1, 1)
    assert SettlementPrice.objects.count() == 7


def test_a_row_that_differs_from_the_stored_price_is_refused(tmp_path: Path) -> None:
    import_price_csv(FIXTURES / "prices_good.csv")
    path = write(tmp_path, HEADER + "2025-02-03,DI1F26,88093.24,14.901\n2025-02-04,DI1F27,1,\n")

    with pytest.raises(ImportFailed) as failure:
        import_price_csv(path)

    [error] = failure.value.errors
    assert error.startswith("prices.csv, line 2, column price: DI1F26 on 2025-02-03")
    assert "88093.23" in error and "88093.24" in error and "manual override" in error
    assert SettlementPrice.objects.count() == 6  # the good 2025-02-04 row was not written either
    stored = SettlementPrice.objects.get(instrument__ticker="DI1F26", date=date(2025, 2, 3))
    assert stored.price == Decimal("88093.23")


def test_a_different_rate_alone_is_refused_too(tmp_path: Path) -> None:
    import_price_csv(FIXTURES / "prices_good.csv")
    path = write(tmp_path, HEADER + "2025-02-03,DI1F26,88093.23,14.902\n")

    with pytest.raises(ImportFailed) as failure:
        import_price_csv(path)

    assert failure.value.errors[0].startswith("prices.csv, line 2, column rate:")


def test_prices_from_other_sources_do_not_block_a_csv_row(tmp_path: Path) -> None:
    SettlementPriceFactory.create(source=PriceSource.B3, price=Decimal("88093.20"))
    result = import_price_csv(write(tmp_path, HEADER + "2025-02-03,DI1F26,88093.23,14.901\n"))

    assert result.created == 1
    assert SettlementPrice.objects.filter(instrument__ticker="DI1F26").count() == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2025-02-03,DI1F26,88093.23", "prices.csv, line 2: expected 4 columns, found 3"),
        ("2025-02-03,DI1F26,88093.23,14.9,x", "prices.csv, line 2: expected 4 columns, found 5"),
        ('2025-02-03,DI1F26,"88093,23",14.901', "prices.csv, line 2, column price: '88093,23'"),
        ("2025-02-03,DI1F26,8.8e4,14.901", "prices.csv, line 2, column price: '8.8e4'"),
        ("2025-02-03,DI1F26,NaN,14.901", "prices.csv, line 2, column price: 'NaN'"),
        ("2025-02-03,DI1F26,88093.23,abc", "prices.csv, line 2, column rate: 'abc'"),
        ("2025-02-30,DI1F26,88093.23,14.901", "prices.csv, line 2, column date: '2025-02-30'"),
        ("03/02/2025,DI1F26,88093.23,14.901", "prices.csv, line 2, column date: '03/02/2025'"),
        ("20250203,DI1F26,88093.23,14.901", "prices.csv, line 2, column date: '20250203'"),
        (",DI1F26,88093.23,14.901", "prices.csv, line 2, column date: '' is not a date"),
        ("2025-02-03,,88093.23,14.901", "prices.csv, line 2, column ticker: empty"),
    ],
)
def test_a_malformed_row_names_file_line_and_column(
    tmp_path: Path, line: str, expected: str
) -> None:
    errors = refused(write(tmp_path, HEADER + line + "\n"))

    assert errors[0].startswith(expected), errors


def test_an_unknown_ticker_is_refused_not_created(tmp_path: Path) -> None:
    errors = refused(write(tmp_path, HEADER + "2025-02-03,DI1F99,90000,14\n"))

    assert errors == [
        "prices.csv, line 2, column ticker: unknown instrument 'DI1F99' "
        "(create it in the back office first)"
    ]


@pytest.mark.parametrize("price", ["0", "0.00", "-88093.23"])
def test_a_price_that_is_not_positive_is_refused(tmp_path: Path, price: str) -> None:
    errors = refused(write(tmp_path, HEADER + f"2025-02-03,DI1F26,{price},14.901\n"))

    assert errors[0].startswith("prices.csv, line 2, column price: must be positive")


def test_a_price_with_more_decimals_than_stored_is_refused(tmp_path: Path) -> None:
    errors = refused(write(tmp_path, HEADER + "2025-02-03,DI1F26,88093.123456789,\n"))

    assert "too many digits" in errors[0]


def test_a_future_date_is_refused(tmp_path: Path) -> None:
    future = add_business_days(timezone.localdate(), 3)
    errors = refused(write(tmp_path, HEADER + f"{future},DI1F26,88093.23,14.901\n"))

    assert errors == [
        f"prices.csv, line 2, column date: {future} is in the future "
        f"(today is {timezone.localdate()} in São Paulo)"
    ]


@pytest.mark.parametrize(
    "day",
    [
        "2025-02-01",  # Saturday
        "2025-03-04",  # Carnival Tuesday
        "2024-11-20",  # Consciência Negra, national from 2024
    ],
)
def test_a_non_business_date_is_refused(tmp_path: Path, day: str) -> None:
    errors = refused(write(tmp_path, HEADER + f"{day},DI1F26,88093.23,14.901\n"))

    assert errors == [f"prices.csv, line 2, column date: {day} is not an ANBIMA business day"]


def test_a_duplicate_ticker_and_date_in_one_file_is_refused(tmp_path: Path) -> None:
    text = HEADER + "2025-02-03,DI1F26,88093.23,14.901\n2025-02-03,DI1F26,88093.23,14.901\n"
    errors = refused(write(tmp_path, text))

    assert errors == [
        "prices.csv, line 3, columns ticker and date: DI1F26 on 2025-02-03 already appears "
        "on line 2"
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("date,ticker,rate", "missing column(s) price"),
        ("date,price", "missing column(s) ticker"),
        ("date,ticker,price,rate,source", "unknown column(s) 'source'"),
        ("2025-02-03,DI1F26,88093.23,14.901", "missing column(s) date, ticker, price"),
        ("date,ticker,price,price", "column(s) price appear more than once"),
    ],
)
def test_a_missing_or_wrong_header_is_refused(tmp_path: Path, header: str, expected: str) -> None:
    errors = refused(write(tmp_path, header + "\n2025-02-03,DI1F26,88093.23,14.901\n"))

    assert any(e.startswith("prices.csv, line 1 (header): ") and expected in e for e in errors)


def test_the_rate_column_is_optional_and_columns_may_come_in_any_order(tmp_path: Path) -> None:
    result = import_price_csv(write(tmp_path, "Ticker,Price,Date\r\nWDOH25,5868.0,2025-02-03\r\n"))

    assert result.created == 1
    assert SettlementPrice.objects.get().rate is None


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, "")) == [
        "prices.csv: the file is empty (expected the header date,ticker,price,rate)"
    ]


def test_a_file_with_only_a_header_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, HEADER + "\n")) == ["prices.csv: no price rows after the header"]


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    errors = refused(tmp_path / "nope.csv")

    assert errors[0].startswith("nope.csv: cannot read the file")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "2025-02-03,DI1F26,88093.23,14.901 é\n".encode("latin-1"))

    assert "not UTF-8" in refused(path)[0]


def test_every_error_of_the_file_is_reported_at_once() -> None:
    errors = refused(FIXTURES / "prices_bad.csv")

    assert errors == [
        "prices_bad.csv, line 3, column date: 2025-02-01 is not an ANBIMA business day",
        "prices_bad.csv, line 4, column ticker: unknown instrument 'DI1X99' "
        "(create it in the back office first)",
        "prices_bad.csv, line 5, column price: '76828,74' is not a decimal number "
        "(digits with '.' as the decimal separator)",
        "prices_bad.csv, line 6, column price: must be positive, got 0",
        "prices_bad.csv, line 7: expected 4 columns, found 3",
    ]


def test_it_reads_an_open_text_stream_with_a_byte_order_mark() -> None:
    stream = io.StringIO("\ufeff" + HEADER + "2025-02-03,DI1F26,88093.23,14.901\n")

    result = import_price_csv(stream, filename="upload.csv")

    assert result.created == 1


def test_errors_in_a_stream_name_the_given_file_name() -> None:
    stream = io.StringIO(HEADER + "2025-02-01,DI1F26,88093.23,14.901\n")

    errors = refused(stream, filename="from-the-desk.csv")

    assert errors[0].startswith("from-the-desk.csv, line 2, column date:")


def test_the_command_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_prices", str(FIXTURES / "prices_good.csv"))

    assert "CSV: 6 created, 0 unchanged (2025-01-31 to 2025-02-03)." in capsys.readouterr().out


def test_the_command_fails_with_every_error_on_stderr() -> None:
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="5 error"):
        call_command("import_prices", str(FIXTURES / "prices_bad.csv"), stderr=stderr)

    assert stderr.getvalue().count("prices_bad.csv, line") == 5
    assert SettlementPrice.objects.count() == 0


def test_checking_and_writing_take_a_few_queries_whatever_the_row_count(
    tmp_path: Path, bo_carol
) -> None:
    days = [add_business_days(date(2025, 1, 2), n) for n in range(40)]
    lines = [f"{day},{t},90000.00,14.5" for day in days for t in ("DI1F26", "DI1F27", "WDOH25")]
    path = write(tmp_path, HEADER + "\n".join(lines) + "\n")

    with CaptureQueriesContext(connection) as first:
        assert import_price_csv(path, user=bo_carol).created == 120
    with CaptureQueriesContext(connection) as second:
        assert import_price_csv(path, user=bo_carol).unchanged == 120

    # One SELECT of instruments, one of stored prices; INSERTs in batches (SQLite: 999 params);
    # the change note (docs/INTRADAY.md): its counter read back (made first: one more), the
    # funds marked on those days, the pending re-marks (the others' marks stay counted true).
    assert [q["sql"].split()[0] for q in first.captured_queries].count("SELECT") <= 6
    assert len(first.captured_queries) < 18
    assert [q["sql"].split()[0] for q in second.captured_queries].count("INSERT") == 0


def test_a_row_another_import_committed_meanwhile_fails_the_whole_import(monkeypatch) -> None:
    """The check found nothing, but the row exists by the time of the write (a concurrent
    import): the database's unique constraint refuses it and nothing of the file is kept."""
    from apps.marketdata.importers import common

    stored = SettlementPrice.objects.count()
    real_insert = common._insert_prices

    def racing(rows, **kwargs):  # type: ignore[no-untyped-def]
        real_insert(rows[:1], **kwargs)  # the other import commits the first row
        real_insert(rows, **kwargs)

    monkeypatch.setattr(common, "_insert_prices", racing)
    with pytest.raises(ImportFailed, match="another import may have run at the same time"):
        import_price_csv(FIXTURES / "prices_good.csv")
    assert SettlementPrice.objects.count() == stored
    assert SettlementPrice.objects.filter(created_at__isnull=False).count() == stored
