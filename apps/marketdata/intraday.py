"""Intraday prices: entered by the desk or an API client during the trading day, provisional.

`enter_prices` checks every entry (all or nothing, each error with its line), converts a rate
to its PU of the day by the kind's convention (`valuation.pu_at`, as the settlement would be
priced), stores them, journals the entry and notes the change (intraday snapshots computed
before it are stale). The MTM and the EOD never read these rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.cache import schedule_refresh
from apps.core.roles import Role, has_role
from apps.core.staleness import INTRADAY, record_change
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import is_business_day
from apps.marketdata.models import (
    FixingIndex,
    Instrument,
    InstrumentKind,
    IntradayPrice,
    QuoteConvention,
)
from apps.marketdata.pricing import PricingError
from apps.marketdata.queries import latest_fixing
from apps.marketdata.validators import validate_quoted_rate
from apps.marketdata.valuation import RateTerms, pu_at

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ENTERERS = (Role.MANAGER, Role.BACK_OFFICE)
CLOCK_SLACK = timedelta(minutes=2)  # a client's clock a little ahead is not "the future"
VNA = {InstrumentKind.NTNB: FixingIndex.VNA_NTNB, InstrumentKind.LFT: FixingIndex.VNA_LFT}


@dataclass(frozen=True)
class Entry:
    """One price as given: a ticker and a price, or a rate in % as quoted (14.50)."""

    ticker: str
    price: Decimal | None = None
    rate_pct: Decimal | None = None
    at: datetime | None = None
    where: str = ""  # "line 3", "row DI1F27": how the error names it


def trading_day(now: datetime | None = None) -> date:
    """Today, if it is a trading day (intraday prices exist only on one)."""
    today = timezone.localdate(now)
    if not is_business_day(today):
        raise ValidationError(
            f"{today:%d/%m/%Y} is not an ANBIMA business day: no intraday prices."
        )
    return today


def enter_prices(
    entries: Sequence[Entry], *, by: User, source: str, now: datetime | None = None
) -> list[IntradayPrice]:
    """Store intraday prices for today, all or none (ValidationError lists every bad line)."""
    if not has_role(by, *ENTERERS):
        raise PermissionDenied("Only a manager or back office may enter intraday prices.")
    now = now or timezone.now()
    day = trading_day(now)
    if not entries:
        raise ValidationError("No price given.")
    instruments = Instrument.objects.in_bulk(
        {e.ticker.strip().upper() for e in entries}, field_name="ticker"
    )
    vnas = _vnas(day)
    rows, errors = [], []
    for entry in entries:
        instrument = instruments.get(entry.ticker.strip().upper())
        label = f"{entry.where}: " if entry.where else ""
        try:
            rows.append(_row(entry, instrument, day, now, vnas, by, source))
        except ValidationError as error:
            errors += [f"{label}{message}" for message in error.messages]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        stored = IntradayPrice.objects.bulk_create(rows)
        journal(
            kind=EntryKind.INTRADAY_PRICES,
            actor=by,
            on_date=day,
            snapshot={
                "source": source,
                "prices": [
                    {
                        "instrument": instruments[e.ticker.strip().upper()].ticker,
                        "price": r.price,
                        "rate": r.rate,
                        "at": r.at.isoformat(),
                    }
                    for e, r in zip(entries, rows, strict=True)
                ],
            },
            note=f"{len(rows)} intraday price(s) entered ({IntradayPrice.Source(source).label}).",
        )
        record_change(INTRADAY, [day])  # also every page's cache key: they show the estimate
        if getattr(settings, "CACHE_WRITE_THROUGH", True):
            schedule_refresh("market")  # a worker recomputes the funds' intraday risk
    return stored


def _row(
    entry: Entry,
    instrument: Instrument | None,
    day: date,
    now: datetime,
    vnas: dict[str, Decimal],
    by: User,
    source: str,
) -> IntradayPrice:
    if instrument is None:
        raise ValidationError(f"{entry.ticker!r} is not a known instrument.")
    ticker = instrument.ticker
    if not instrument.active or (instrument.maturity and instrument.maturity <= day):
        raise ValidationError(f"{ticker} is not tradable today (inactive or matured).")
    at = entry.at or now
    if timezone.localdate(at) != day or at > now + CLOCK_SLACK:
        raise ValidationError(
            f"{ticker}: the time {timezone.localtime(at):%d/%m/%Y %H:%M} is not earlier today."
        )
    if (entry.price is None) == (entry.rate_pct is None):
        raise ValidationError(f"{ticker}: give either a price or a rate.")
    if instrument.is_rate_quoted:
        if entry.rate_pct is None:
            raise ValidationError(f"{ticker} is quoted as a rate: give the rate in % (14.50).")
        rate = entry.rate_pct.scaleb(-2)
        validate_quoted_rate(rate)
        assert instrument.maturity is not None
        terms = RateTerms(instrument.kind, instrument.maturity, vnas.get(instrument.kind))
        try:
            price = pu_at(terms, rate, day)
        except PricingError as error:
            raise ValidationError(f"{ticker}: {error}") from error
    else:
        if entry.price is None:
            raise ValidationError(f"{ticker} is quoted as a price, not a rate.")
        if entry.price <= 0:
            raise ValidationError(f"{ticker}: the price must be positive, got {entry.price}.")
        price, rate = entry.price, None
    return IntradayPrice(
        instrument=instrument, day=day, at=at, price=price, rate=rate, source=source, entered_by=by
    )


def _vnas(day: date) -> dict[str, Decimal]:
    """The latest VNA on or before `day` of each rate-quoted bond that needs one."""
    rows = {kind: latest_fixing(index, day) for kind, index in VNA.items()}
    return {kind: row.value for kind, row in rows.items() if row is not None}


def latest_quotes(
    day: date, instrument_ids: Iterable[int] | None = None
) -> dict[int, IntradayPrice]:
    """The latest intraday price of each instrument on `day` (by the time it was seen)."""
    rows = IntradayPrice.objects.filter(day=day).select_related("instrument")
    if instrument_ids is not None:
        rows = rows.filter(instrument_id__in=list(instrument_ids))
    latest: dict[int, IntradayPrice] = {}
    for row in rows.order_by("at", "pk"):
        latest[row.instrument_id] = row
    return latest


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
