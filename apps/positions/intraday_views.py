"""Intraday prices from the book: the grid's form and a CSV upload (`marketdata.intraday`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core.actors import actor
from apps.core.permissions import role_required
from apps.marketdata.intraday import ENTERERS, Entry, as_quoted, enter_prices
from apps.marketdata.intraday_csv import parse_csv, plain_decimal
from apps.marketdata.models import IntradayPrice
from apps.positions.access import active_fund_or_404

MAX_UPLOAD = 512 * 1024
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
        number = plain_decimal(raw)
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
