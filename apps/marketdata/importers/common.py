"""What every market-data importer shares: the result, the failure, and the all-or-nothing write.

Each importer parses its input into `PriceRow`s (collecting every error it meets), then hands
them to `store_prices`, which checks them against the database with bulk lookups and writes
them in one write, or writes nothing and raises `ImportFailed` with every error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.bulk import insert_values
from apps.core.cache import bump
from apps.marketdata.calendar import is_business_day
from apps.marketdata.changes import by_day, note_prices
from apps.marketdata.contracts import parse_ticker
from apps.marketdata.models import Instrument, SettlementPrice

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("apps.marketdata.importers")

# Limits of the SettlementPrice columns (max_digits, decimal_places); a value that does not fit
# would be silently rounded by the database and then never compare equal on re-import.
PRICE_DIGITS = (24, 8)
RATE_DIGITS = (14, 8)
BATCH_SIZE = 2000


@dataclass
class ImportResult:
    created: int
    unchanged: int
    source: str  # "CSV", "B3", "BCB"
    first_date: date | None
    last_date: date | None
    ignored: int = 0  # rows outside the importer's scope (B3: options, spreads, other products)
    instruments_created: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a command's output or an admin message."""
        span = (
            "no dates"
            if self.first_date is None
            else f"{self.first_date:%Y-%m-%d}"
            if self.first_date == self.last_date
            else f"{self.first_date:%Y-%m-%d} to {self.last_date:%Y-%m-%d}"
        )
        parts = [f"{self.source}: {self.created} created", f"{self.unchanged} unchanged"]
        if self.instruments_created:
            parts.append(f"{self.instruments_created} instruments created")
        if self.ignored:
            parts.append(f"{self.ignored} ignored")
        return f"{', '.join(parts)} ({span})."


class ImportFailed(Exception):
    """The input was refused; nothing was written. `errors` lists every problem found."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors[:3]) + (" …" if len(self.errors) > 3 else ""))


@dataclass(frozen=True)
class PriceRow:
    """One settlement price read from a file, with where it came from for error messages."""

    where: str  # "prices.csv, line 12" or "SPRD250203.zip, PricRpt DI1F26"
    ticker: str
    day: date
    price: Decimal
    rate: Decimal | None = None  # decimal fraction
    open_interest: int | None = None
    trades: int | None = None


def fits(value: Decimal, digits: tuple[int, int]) -> bool:
    """True when `value` fits a DecimalField(max_digits, decimal_places) without rounding."""
    max_digits, places = digits
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > places:
        return False
    return abs(value) < Decimal(10) ** (max_digits - places)


def date_problem(day: date, today: date | None = None) -> str | None:
    """Why a settlement date cannot be stored, or None (future dates and non-business days)."""
    today = today or timezone.localdate()
    if day > today:
        return f"{day:%Y-%m-%d} is in the future (today is {today:%Y-%m-%d} in São Paulo)"
    if not is_business_day(day):
        return f"{day:%Y-%m-%d} is not an ANBIMA business day"
    return None


def _pct(rate: Decimal | None) -> str:
    return "no rate" if rate is None else f"rate {(rate * 100).normalize():f} %"


def store_prices(
    rows: list[PriceRow],
    *,
    source: str,
    errors: list[str],
    labels: Mapping[str, str],
    user: User | None = None,
    create_instruments: bool = False,
) -> ImportResult:
    """Check `rows` against the database and write the new ones, all or nothing.

    `errors` holds what the parser already found; database checks add to it, and any error at
    all means nothing is written. `labels` names the column/element of each field in messages.
    A row equal to the stored (instrument, date, source) row is skipped; a different one is an
    error: an import never overwrites a price, a correction is a manual override with a reason.
    """
    created_instruments: list[Instrument] = []
    with transaction.atomic():
        tickers = {row.ticker for row in rows}
        instruments = {i.ticker: i for i in Instrument.objects.filter(ticker__in=tickers)}
        missing = sorted(tickers - instruments.keys())
        if missing and create_instruments:
            # Only codes accepted by `is_supported_future` reach here, so parse_ticker succeeds.
            created_instruments = [_instrument_from_code(ticker) for ticker in missing]
        elif missing:
            unknown = set(missing)
            errors.extend(
                f"{row.where}, {labels['ticker']}: unknown instrument {row.ticker!r} "
                "(create it in the back office first)"
                for row in rows
                if row.ticker in unknown
            )

        stored = _stored_prices(rows, instruments, source)
        new: list[PriceRow] = []
        unchanged = 0
        for row in rows:
            instrument = instruments.get(row.ticker)
            old = stored.get((instrument.pk, row.day)) if instrument else None
            if old is None:
                new.append(row)
            elif old == (row.price, row.rate):
                unchanged += 1
            else:
                column = labels["price"] if old[0] != row.price else labels["rate"]
                errors.append(
                    f"{row.where}, {column}: {row.ticker} on {row.day:%Y-%m-%d} already has a "
                    f"{source} price {old[0].normalize():f} ({_pct(old[1])}); this file says "
                    f"{row.price.normalize():f} ({_pct(row.rate)}). Imports never overwrite a "
                    "price: enter a manual override with a reason instead"
                )
        if errors:
            raise ImportFailed(errors)

        try:
            instruments.update(_create_instruments(created_instruments))
            user_id = getattr(user, "pk", None)  # ids, not objects: cheaper for 45,000 rows
            _insert_prices(
                [
                    (
                        instruments[row.ticker].pk,
                        row.day,
                        row.price,
                        row.rate,
                        row.open_interest,
                        row.trades,
                    )
                    for row in new
                ],
                source=source,
                user_id=user_id,
            )
            if new or created_instruments:
                bump(refresh=False)  # bulk writes fire no signals: every fund's read models
            note_prices(
                by_day((instruments[row.ticker].pk, row.day) for row in new),
                reason=f"{len(new):,} {source} prices imported",
            )
        except IntegrityError as exc:
            # Another import of the same data committed between our checks and our inserts.
            raise ImportFailed(
                [
                    f"the database refused the import ({exc}); another import may have run at "
                    "the same time: run this one again"
                ]
            ) from exc

    days = [row.day for row in rows]
    result = ImportResult(
        created=len(new),
        unchanged=unchanged,
        source=source,
        first_date=min(days, default=None),
        last_date=max(days, default=None),
        instruments_created=len(created_instruments),
    )
    logger.info("price import %s", result.summary())
    return result


def _stored_prices(
    rows: list[PriceRow], instruments: Mapping[str, Instrument], source: str
) -> dict[tuple[int, date], tuple[Decimal, Decimal | None]]:
    """The stored (price, rate) per (instrument id, date) for this source, in one query."""
    ids = {instruments[row.ticker].pk for row in rows if row.ticker in instruments}
    if not ids:
        return {}
    days = [row.day for row in rows]
    found = SettlementPrice.objects.filter(
        source=source, instrument_id__in=ids, date__range=(min(days), max(days))
    ).values_list("instrument_id", "date", "price", "rate")
    return {(pk, day): (price, rate) for pk, day, price, rate in found}


def _create_instruments(instruments: list[Instrument]) -> dict[str, Instrument]:
    if not instruments:
        return {}
    Instrument.objects.bulk_create(instruments, batch_size=BATCH_SIZE)
    # Re-read rather than rely on bulk_create returning primary keys on every backend.
    tickers = [i.ticker for i in instruments]
    return {i.ticker: i for i in Instrument.objects.filter(ticker__in=tickers)}


def _instrument_from_code(ticker: str) -> Instrument:
    spec = parse_ticker(ticker)
    return Instrument(
        ticker=ticker,
        name=spec.name,
        kind=spec.kind,
        asset_class=spec.asset_class,
        currency=spec.currency,
        multiplier=spec.multiplier,
        maturity=spec.maturity,
        quote_convention=spec.quote_convention,
        underlying=spec.underlying,
    )


def source_name(source: Any, filename: str | None) -> str:
    """The file name used in error messages: the given one, the path's, or the upload's."""
    if filename:
        return filename
    if isinstance(source, str | PathLike):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "uploaded file"


PriceValues = tuple[int, date, Decimal, Decimal | None, int | None, int | None]


def _insert_prices(rows: list[PriceValues], *, source: str, user_id: int | None) -> None:
    """Write the new settlements: the rows `bulk_create` would write, without building 45,000
    model instances and their SQL (which cost more than the database's work): the bulk row
    writer (`apps.core.bulk`) with the values as they are."""
    if not rows:
        return
    names = ["instrument", "date", "price", "rate", "open_interest", "trades"]
    names += ["source", "reason", "created_by", "created_at"]
    by_name = {f.name: f for f in SettlementPrice._meta.concrete_fields}
    assert set(by_name) - set(names) == {"id"}, "a new SettlementPrice field must be written here"
    fields = [by_name[name] for name in names]
    fixed = (source, "", user_id, timezone.now())
    insert_values(SettlementPrice, fields, [(*values, *fixed) for values in rows])
