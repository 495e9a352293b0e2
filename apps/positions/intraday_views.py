"""Intraday prices from the book: the grid's form and a CSV upload (`marketdata.intraday`)."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core.actors import actor
from apps.core.permissions import role_required
from apps.marketdata.intraday import ENTERERS, Entry, enter_prices
from apps.marketdata.models import Instrument, IntradayPrice, QuoteConvention
from apps.positions.access import active_fund_or_404

MAX_UPLOAD = 512 * 1024
MAX_LINES = 2000  # as the API takes
MAX_DIGITS = 16  # integer digits of a price: more is a typo, not a market
COLUMNS = ("ticker", "price", "rate", "time")


def _fund(request: HttpRequest) -> None:
    """The grid is posted from a fund's book: a fund the user may not see is a 404 (the
    prices are market data, but the request names the fund it came from)."""
    active_fund_or_404(request.user, request.POST.get("portfolio") or None)


def _back(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("portfolio", "")
    query = f"?{urlencode({'portfolio': code})}" if code else ""
    return redirect(reverse("positions:book") + query)


def _store(request: HttpRequest, entries: list[Entry], source: str) -> None:
    try:
        stored = enter_prices(entries, by=actor(request), source=source)
    except ValidationError as error:
        messages.error(request, "No intraday price saved: " + " ".join(error.messages))
    else:
        tickers = ", ".join(row.instrument.ticker for row in stored)
        messages.success(request, f"{len(stored)} intraday price(s) saved: {tickers}.")


@require_POST
@role_required(*ENTERERS)
def grid(request: HttpRequest) -> HttpResponse:
    """The book's grid: one field per instrument (`q-<ticker>`), blanks left alone; a rate for
    rate-quoted instruments, a price for the others (the service knows which)."""
    _fund(request)
    entries: list[Entry] = []
    errors: list[str] = []
    for name in request.POST:
        raw = request.POST.get(name, "")
        if not name.startswith("q-") or not raw.strip():
            continue
        ticker = name.removeprefix("q-")
        number = _decimal(raw)
        if number is None:
            errors.append(f"{ticker}: {raw.strip()!r} is not a number.")
            continue
        entries.append(Entry(ticker, price=number, rate_pct=number, where=ticker))
    if errors:
        messages.error(request, "No intraday price saved: " + " ".join(errors))
    elif not entries:
        messages.info(request, "No price entered: every field was blank.")
    else:
        _store(request, as_quoted(entries), IntradayPrice.Source.GRID)
    return _back(request)


@require_POST
@role_required(*ENTERERS)
def upload(request: HttpRequest) -> HttpResponse:
    """A CSV of intraday prices: columns ticker, price, rate (%), time (HH:MM, optional);
    separated by "," or ";" (then a decimal comma is accepted). All lines or none."""
    _fund(request)
    file = request.FILES.get("file")
    if file is None or file.size is None or file.size > MAX_UPLOAD:
        messages.error(request, "Choose a CSV file of at most 512 kB.")
        return _back(request)
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, "No intraday price saved: the file is not UTF-8 text.")
        return _back(request)
    try:
        entries = parse_csv(text)
    except ValidationError as error:
        messages.error(request, "No intraday price saved: " + " ".join(error.messages))
        return _back(request)
    _store(request, entries, IntradayPrice.Source.CSV)
    return _back(request)


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
    number = _decimal(raw)
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


def _decimal(raw: str) -> Decimal | None:
    """A plain decimal number of sane size, else None."""
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number.adjusted() >= MAX_DIGITS:
        return None
    return number


def as_quoted(entries: list[Entry]) -> list[Entry]:
    """A grid value is a rate for rate-quoted instruments, a price for the others."""
    tickers = {entry.ticker for entry in entries}
    rated = set(
        Instrument.objects.filter(
            ticker__in=tickers, quote_convention=QuoteConvention.RATE
        ).values_list("ticker", flat=True)
    )
    return [
        Entry(e.ticker, rate_pct=e.rate_pct, where=e.where)
        if e.ticker in rated
        else Entry(e.ticker, price=e.price, where=e.where)
        for e in entries
    ]
