"""Settlement prices from a CSV file: header `date,ticker,price,rate` (docs/MARKET_DATA.md)."""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.utils import timezone

from apps.marketdata.importers.common import (
    PRICE_DIGITS,
    RATE_DIGITS,
    ImportFailed,
    ImportResult,
    PriceRow,
    date_problem,
    fits,
    source_name,
    store_prices,
)
from apps.marketdata.models import PriceSource

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REQUIRED_COLUMNS = ("date", "ticker", "price")
OPTIONAL_COLUMNS = ("rate",)
HEADER = "date,ticker,price,rate"
LABELS = {
    "date": "column date",
    "ticker": "column ticker",
    "price": "column price",
    "rate": "column rate",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Plain decimals only: a '.' separator, no exponent, no thousands separator, no NaN/Infinity.
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def import_price_csv(
    source: Path | str | IO[str], *, filename: str | None = None, user: User | None = None
) -> ImportResult:
    """Import settlement prices from a CSV file, all or nothing; identical rows are skipped."""
    name = source_name(source, filename)
    if isinstance(source, str | PathLike):
        try:
            with open(source, encoding="utf-8-sig", newline="") as handle:
                rows, errors = _read(handle, name)
        except OSError as exc:
            raise ImportFailed([f"{name}: cannot read the file ({exc.strerror})"]) from exc
    else:
        rows, errors = _read(source, name)
    if not rows and not errors:
        errors.append(f"{name}: no price rows after the header")
    try:
        return store_prices(rows, source=PriceSource.CSV, errors=errors, labels=LABELS, user=user)
    except ImportFailed as exc:
        # Parsing and database checks each find errors in line order; list them all that way.
        line = re.compile(rf"^{re.escape(name)}, line (\d+)")

        def line_number(error: str) -> int:
            match = line.match(error)
            return int(match.group(1)) if match else 0

        raise ImportFailed(sorted(exc.errors, key=line_number)) from exc


def _read(handle: IO[str], name: str) -> tuple[list[PriceRow], list[str]]:
    reader = csv.reader(handle)
    errors: list[str] = []
    try:
        return _parse(reader, name, errors), errors
    except UnicodeDecodeError as exc:
        errors.append(f"{name}, line {reader.line_num + 1}: the file is not UTF-8 text ({exc})")
    except csv.Error as exc:
        errors.append(f"{name}, line {reader.line_num}: not a readable CSV line ({exc})")
    return [], errors


def _parse(reader: Any, name: str, errors: list[str]) -> list[PriceRow]:
    header = next(reader, None)
    if header is None:
        errors.append(f"{name}: the file is empty (expected the header {HEADER})")
        return []
    columns = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    if not _header_ok(columns, name, errors):
        return []
    cells_of = _Cells({column: i for i, column in enumerate(columns)}, timezone.localdate())
    rows: list[PriceRow] = []
    seen: dict[tuple[str, date], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        where = f"{name}, line {line}"
        if len(cells) != len(columns):
            errors.append(f"{where}: expected {len(columns)} columns, found {len(cells)}")
            continue
        row = cells_of.row(cells, where, errors)
        if row is None:
            continue
        first = seen.setdefault((row.ticker, row.day), line)
        if first != line:
            errors.append(
                f"{where}, columns ticker and date: {row.ticker} on {row.day:%Y-%m-%d} already "
                f"appears on line {first}"
            )
            continue
        rows.append(row)
    return rows


class _Cells:
    """One line's cells read as a price row; each column's problems listed in column order."""

    def __init__(self, position: dict[str, int], today: date) -> None:
        self.position = position
        self.today = today
        self.dates: dict[str, date | str] = {}  # raw text → date, or the error text

    def row(self, cells: list[str], where: str, errors: list[str]) -> PriceRow | None:
        """The row, or None with `where`'s problems added to `errors`."""
        problems: list[str] = []
        day = self._date(cells[self.position["date"]].strip(), problems)
        ticker = cells[self.position["ticker"]].strip()
        if not ticker:
            problems.append("column ticker: empty")
        price = self._price(cells[self.position["price"]], problems)
        rate = self._rate(cells, problems)
        if problems:
            errors.extend(f"{where}, {problem}" for problem in problems)
            return None
        assert isinstance(day, date) and price is not None
        return PriceRow(where=where, ticker=ticker, day=day, price=price, rate=rate)

    def _date(self, raw: str, problems: list[str]) -> date | str:
        day = self.dates.get(raw)
        if day is None:
            day = self.dates[raw] = _parse_date(raw, self.today)
        if isinstance(day, str):
            problems.append(f"column date: {day}")
        return day

    def _price(self, raw: str, problems: list[str]) -> Decimal | None:
        price = _decimal(raw, "price", problems)
        if price is not None and price <= 0:
            problems.append(f"column price: must be positive, got {price:f}")
        elif price is not None and not fits(price, PRICE_DIGITS):
            problems.append(f"column price: {price:f} has too many digits (8 decimals at most)")
        return price

    def _rate(self, cells: list[str], problems: list[str]) -> Decimal | None:
        if "rate" not in self.position or not cells[self.position["rate"]].strip():
            return None
        rate_pct = _decimal(cells[self.position["rate"]], "rate", problems)
        if rate_pct is None:
            return None
        rate = rate_pct.scaleb(-2)  # published in %, stored as a fraction
        if not fits(rate, RATE_DIGITS):
            problems.append(f"column rate: {rate_pct:f} % has too many digits (6 decimals at most)")
        return rate


def _header_ok(columns: list[str], name: str, errors: list[str]) -> bool:
    where = f"{name}, line 1 (header)"
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        errors.append(f"{where}: missing column(s) {', '.join(missing)}; expected {HEADER}")
    if unknown:
        errors.append(
            f"{where}: unknown column(s) {', '.join(repr(c) for c in unknown)}; expected {HEADER}"
        )
    if repeated:
        errors.append(f"{where}: column(s) {', '.join(repeated)} appear more than once")
    return not (missing or unknown or repeated)


def _parse_date(raw: str, today: date) -> date | str:
    """The date, or why it cannot be used."""
    try:
        if not _ISO_DATE.match(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        return f"{raw!r} is not a date (use YYYY-MM-DD)"
    return date_problem(day, today) or day


def _decimal(raw: str, column: str, problems: list[str]) -> Decimal | None:
    text = raw.strip()
    if not _DECIMAL.match(text):
        problems.append(
            f"column {column}: {text!r} is not a decimal number "
            "(digits with '.' as the decimal separator)"
        )
        return None
    return Decimal(text)
