"""Intraday prices from a CSV (the book's upload): parsed all or nothing, every bad line named.

Columns `ticker`, `price`, `rate` (in %), optional `time` (HH:MM today), separated by "," or
";". With ";" (a Brazilian Excel file) "," is the decimal mark and "." groups thousands; a
bare 5.850, which could be either, is refused.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.marketdata.intraday import Entry

MAX_LINES = 2000  # as the API takes
MAX_DIGITS = 16  # integer digits of a price: more is a typo, not a market


def parse_csv(text: str) -> list[Entry]:
    """The entries of a CSV (ValidationError naming every bad line)."""
    lines = text.splitlines()
    if not lines:
        raise ValidationError("The file is empty.")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [cell.strip().lower() for cell in rows[0]]
    if "ticker" not in header or not {"price", "rate"} & set(header):
        raise ValidationError("Line 1: the header must name ticker and price and/or rate.")
    if len(rows) - 1 > MAX_LINES:
        raise ValidationError(f"The file has {len(rows) - 1:,} lines: at most {MAX_LINES:,}.")
    entries: list[Entry] = []
    errors: list[str] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        where = f"line {number}"
        price, rate = (_cell(values, name, delimiter, where, errors) for name in ("price", "rate"))
        at = _time(values.get("time", ""), where, errors)
        entries.append(Entry(values.get("ticker", ""), price, rate, at, where))
    if errors:
        raise ValidationError(errors)
    if not entries:
        raise ValidationError("The file has no price line.")
    return entries


def _cell(
    values: dict[str, str], name: str, delimiter: str, where: str, errors: list[str]
) -> Decimal | None:
    raw = values.get(name, "")
    if not raw:
        return None
    if delimiter == ";":  # a Brazilian file: "." groups thousands, "," is the decimal mark
        if "," not in raw and re.fullmatch(r"-?\d{1,3}(\.\d{3})+", raw):
            errors.append(
                f"{where}, column {name}: {raw!r} could be thousands or a decimal point; "
                "write it 5.850,00 or 5850"
            )
            return None
        raw = raw.replace(".", "").replace(",", ".") if "," in raw else raw
    number = plain_decimal(raw)
    if number is None:
        errors.append(f"{where}, column {name}: {values[name]!r} is not a number.")
    return number


def _time(raw: str, where: str, errors: list[str]) -> datetime | None:
    if not raw:
        return None
    try:
        clock = datetime.strptime(raw, "%H:%M").time()
    except ValueError:
        errors.append(f"{where}, column time: {raw!r} is not a time (HH:MM).")
        return None
    return timezone.make_aware(datetime.combine(timezone.localdate(), clock))


def plain_decimal(raw: str) -> Decimal | None:
    """A plain decimal number of sane size, else None."""
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number.adjusted() >= MAX_DIGITS:
        return None
    return number
