"""Index fixings from the Banco Central's SGS time-series API (CDI, Selic, IPCA, PTAX).

    GET {BCB_SGS_URL}?formato=json&dataInicial=DD/MM/YYYY&dataFinal=DD/MM/YYYY
    → [{"data": "31/01/2025", "valor": "0.049037"}, ...]

Units stored (see FixingIndex and docs/MARKET_DATA.md):

    series  name          SGS unit            stored as
    12      cdi           % per business day  annual fraction, base 252: A2((1+d/100)^252 − 1) in %
    11      selic         % per business day  same as CDI
    432     selic_target  % per year          fraction (13.25 → 0.1325)
    433     ipca          % per month         fraction (0.16 → 0.0016), dated the month's 1st
    1       ptax_sell     BRL per USD         as published (4 decimals)
    10813   ptax_buy      BRL per USD         as published (4 decimals)

The daily CDI/Selic factor published by SGS (6 decimals in %) is itself derived from the annual
rate, which B3/BCB publish with 2 decimals; rounding the compounded rate back to 2 decimals
recovers it exactly (0.049037 % p.d. ↔ 13.15 % a.a.; the 6th decimal moves the annual rate by
about 0.0003 %, far inside the 0.005 % rounding band).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.cache import bump
from apps.marketdata.changes import MARKED_FIXINGS, fixing_moves, note_prices
from apps.marketdata.importers.common import ImportFailed, ImportResult
from apps.marketdata.models import Fixing, FixingIndex

logger = logging.getLogger("apps.marketdata.importers")

SOURCE = "BCB"
# SGS refuses windows over 10 years for daily series (HTTP 406, since March 2025).
MAX_WINDOW = timedelta(days=365 * 5)
_CENT = Decimal("0.01")
_FIXING_PLACES = 10  # Fixing.value decimal_places


def daily_to_annual(percent_per_day: Decimal) -> Decimal:
    """SGS daily % (0.049037) → annual fraction base 252, A2 in % (0.1315)."""
    annual = (1 + percent_per_day.scaleb(-2)) ** 252 - 1
    return (annual * 100).quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(-2)


def percent_to_fraction(percent: Decimal) -> Decimal:
    """13.25 → 0.1325."""
    return percent.scaleb(-2)


def as_published(value: Decimal) -> Decimal:
    return value


@dataclass(frozen=True)
class Series:
    code: int
    name: str
    index: str
    convert: Callable[[Decimal], Decimal]
    monthly: bool = False


SERIES: dict[str, Series] = {
    s.name: s
    for s in (
        Series(12, "cdi", FixingIndex.CDI, daily_to_annual),
        Series(11, "selic", FixingIndex.SELIC, daily_to_annual),
        Series(432, "selic_target", FixingIndex.SELIC_TARGET, percent_to_fraction),
        Series(433, "ipca", FixingIndex.IPCA_MONTHLY, percent_to_fraction, monthly=True),
        # SGS 1 is "Dólar americano (venda)", 10813 "Dólar americano (compra)": the PTAX pair.
        Series(1, "ptax_sell", FixingIndex.PTAX_SELL, as_published),
        Series(10813, "ptax_buy", FixingIndex.PTAX_BUY, as_published),
    )
}
ALIASES: dict[str, tuple[str, ...]] = {"ptax": ("ptax_sell", "ptax_buy")}
DEFAULT_SERIES = ("cdi", "selic", "selic_target", "ipca", "ptax")


def resolve_series(names: Iterable[str]) -> list[Series]:
    """Series by name (`cdi`, `ptax` …) or SGS code (`12`), in order, without repeats."""
    by_code = {str(s.code): s for s in SERIES.values()}
    found: list[Series] = []
    unknown: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        for key in ALIASES.get(name, (name,)):
            series = SERIES.get(key) or by_code.get(key)
            if series is None:
                unknown.append(raw.strip())
            elif series not in found:
                found.append(series)
    if unknown:
        known = ", ".join([*SERIES, *ALIASES])
        raise ImportFailed([f"unknown BCB series {', '.join(unknown)} (known: {known})"])
    if not found:
        raise ImportFailed(["no BCB series given"])
    return found


class SGSError(Exception):
    """The SGS request failed (after retries)."""


class SGSClient:
    """Minimal SGS JSON client on urllib, with a timeout and bounded retries."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        retries: int = 2,
        backoff: float = 1.0,
    ) -> None:
        self.base_url = base_url or settings.BCB_SGS_URL
        self.timeout = settings.BCB_TIMEOUT_SECONDS if timeout is None else timeout
        self.retries = retries
        self.backoff = backoff

    def url(self, code: int, start: date, end: date) -> str:
        query = urlencode(
            {"formato": "json", "dataInicial": f"{start:%d/%m/%Y}", "dataFinal": f"{end:%d/%m/%Y}"},
            safe="/",  # SGS documents the dates unescaped: dataInicial=31/01/2025
        )
        return f"{self.base_url.format(series=code)}?{query}"

    def fetch(self, code: int, start: date, end: date) -> list[Any]:
        """The decoded JSON list for one window; [] when SGS has no value in it (HTTP 404)."""
        url = self.url(code, start, end)
        attempt = 0
        while True:
            attempt += 1
            try:
                body = self._get(url)
            except _NoData:
                return []
            except _Transient as exc:
                if attempt > self.retries:
                    raise SGSError(f"{exc} (after {attempt} attempts)") from exc
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise SGSError(f"the response is not valid JSON ({exc})") from exc
            if not isinstance(data, list):
                raise SGSError(f"expected a JSON list, got {type(data).__name__}: {body[:200]!r}")
            return data

    def _get(self, url: str) -> str:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "pms-bcb-sgs/1"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code == 404:
                raise _NoData from exc
            if exc.code >= 500 or exc.code == 429:
                raise _Transient(f"HTTP {exc.code} from {url}{detail}") from exc
            raise SGSError(f"HTTP {exc.code} from {url}{detail}") from exc
        except TimeoutError as exc:
            raise _Transient(f"no answer from {url} within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _Transient(f"no answer from {url} within {self.timeout:g} s") from exc
            raise _Transient(f"cannot reach {url} ({exc.reason})") from exc
        except UnicodeDecodeError as exc:
            raise SGSError(f"the response from {url} is not UTF-8 ({exc})") from exc


class _Transient(Exception):
    pass


class _NoData(Exception):
    pass


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode("utf-8", "replace")[:300]
    except Exception:  # the body is only a hint for the message
        return ""
    return f": {body}" if body.strip() else ""


def fetch_fixings(
    series: list[str], start: date, end: date, *, client: SGSClient | None = None
) -> ImportResult:
    """Fetch SGS series over [start, end] and store them as fixings, all or nothing."""
    if start > end:
        raise ImportFailed([f"the start date {start} is after the end date {end}"])
    wanted = resolve_series(series)
    client = client or SGSClient()
    errors: list[str] = []
    notes: list[str] = []
    values: dict[tuple[str, date], tuple[Decimal, str]] = {}
    for item in wanted:
        label = f"BCB series {item.code} ({item.name})"
        try:
            rows = [
                row for window in _windows(start, end) for row in client.fetch(item.code, *window)
            ]
        except SGSError as exc:
            errors.append(f"{label}: {exc}")
            continue
        if not rows:
            notes.append(f"{label}: no values between {start} and {end}")
        for number, row in enumerate(rows, start=1):
            where = f"{label}, value #{number}"
            parsed = _parse(row, item, where, errors)
            if parsed is None:
                continue
            day, value = parsed
            if (item.index, day) in values:
                errors.append(f"{where}, field data: {day:%d/%m/%Y} appears twice")
                continue
            values[(item.index, day)] = (value, where)
    result = _store(values, errors)
    result.notes.extend(notes)
    return result


def _windows(start: date, end: date) -> Iterable[tuple[date, date]]:
    while start <= end:
        stop = min(end, start + MAX_WINDOW)
        yield start, stop
        start = stop + timedelta(days=1)


def _parse(row: Any, series: Series, where: str, errors: list[str]) -> tuple[date, Decimal] | None:
    if not isinstance(row, dict) or "data" not in row or "valor" not in row:
        errors.append(f"{where}: expected {{'data': ..., 'valor': ...}}, got {row!r:.100}")
        return None
    try:
        day = datetime.strptime(str(row["data"]), "%d/%m/%Y").date()
    except ValueError:
        errors.append(f"{where}, field data: {row['data']!r} is not a DD/MM/YYYY date")
        return None
    try:
        raw = Decimal(str(row["valor"]).strip())
        if not raw.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors.append(f"{where}, field valor: {row['valor']!r} is not a number")
        return None
    value = series.convert(raw)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _FIXING_PLACES:
        errors.append(f"{where}, field valor: {raw} has more than {_FIXING_PLACES} decimals")
        return None
    return (day.replace(day=1) if series.monthly else day), value


def _store(values: dict[tuple[str, date], tuple[Decimal, str]], errors: list[str]) -> ImportResult:
    with transaction.atomic():
        stored: dict[tuple[str, date], Decimal] = {}
        if values:
            days = [day for _, day in values]
            stored = {
                (index, day): value
                for index, day, value in Fixing.objects.filter(
                    index__in={index for index, _ in values},
                    date__range=(min(days), max(days)),
                ).values_list("index", "date", "value")
            }
        new: list[Fixing] = []
        unchanged = 0
        for (index, day), (value, where) in sorted(values.items()):
            old = stored.get((index, day))
            if old is None:
                new.append(Fixing(index=index, date=day, value=value, source=SOURCE))
            elif old == value:
                unchanged += 1
            else:
                errors.append(
                    f"{where}, field valor: {index} on {day:%Y-%m-%d} is stored as "
                    f"{old.normalize():f}; BCB now gives {value.normalize():f}. A fetch never "
                    "overwrites a fixing: find out which value is right and correct it deliberately"
                )
        if errors:
            raise ImportFailed(errors)
        try:
            Fixing.objects.bulk_create(new, batch_size=2000)
            if new:
                bump(refresh=False)  # bulk writes fire no signals: every fund's read models
            marked = [f for f in new if f.index in MARKED_FIXINGS]
            note_prices(
                {fixing_moves(f.index, f.date): None for f in marked},
                reason=f"{len(marked):,} BCB fixings imported",
            )
            note_prices(
                {f.date: None for f in new if f.index not in MARKED_FIXINGS},
                reason="BCB fixings the MTM does not read",
                moves_marks=False,
            )
        except IntegrityError as exc:
            raise ImportFailed(
                [
                    f"the database refused the fixings ({exc}); another fetch may have run at the "
                    "same time: run this one again"
                ]
            ) from exc
    days = [day for _, day in values]
    result = ImportResult(
        created=len(new),
        unchanged=unchanged,
        source=SOURCE,
        first_date=min(days, default=None),
        last_date=max(days, default=None),
    )
    logger.info("BCB fetch %s", result.summary())
    return result
