"""Settlement prices of listed futures from B3's daily price report BVBG.187 (SPRD*.zip).

The report (ISO 20022-style XML, namespaces `urn:bvmf.052.01.xsd` around `urn:bvmf.217.01.xsd`)
holds one `PricRpt` per instrument traded or open that day:

    PricRpt/TradDt/Dt                       trade date
    PricRpt/SctyId/TckrSymb                 ticker (DI1F26, WDOH25, options, spreads …)
    PricRpt/FinInstrmAttrbts/AdjstdQt       settlement price, or PU for rate-quoted futures
    PricRpt/FinInstrmAttrbts/AdjstdQtTax    settlement rate in % (rate-quoted futures)
    PricRpt/FinInstrmAttrbts/OpnIntrst      open interest (contracts)
    PricRpt/FinInstrmAttrbts/RglrTxsQty     number of regular trades

Only plain futures of the supported roots are imported; B3 is authoritative for them, so
missing instruments are created from their code. `PrvsAdjstdQt` is deliberately not read (it
is neither yesterday's PU nor yesterday's PU carried; see domain/brazil-markets.md §2).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path
from typing import IO, TYPE_CHECKING
from xml.etree import ElementTree

from django.utils import timezone

from apps.marketdata.contracts import UnknownContract, is_supported_future, parse_ticker
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
from apps.marketdata.models import PriceSource, QuoteConvention

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("apps.marketdata.importers")

LABELS = {
    "date": "element TradDt/Dt",
    "ticker": "element SctyId/TckrSymb",
    "price": "element AdjstdQt",
    "rate": "element AdjstdQtTax",
}
REPORT_TYPE = "BVBG.187"
MAX_NESTING = 3  # zips inside zips: B3's bulk downloads wrap the daily SPRD zip once more
# Uncompressed bytes read from one upload, zips and XML together: the daily BVBG.187 XML is
# about 5 MB (SPRD250203: 4.7 MB in a 73 kB zip), so 64 MB is ample, and a zip bomb (a 306 kB
# upload unpacking to 300 MB) stops there, having held at most SPOOL_BYTES in memory.
MAX_UNZIPPED_BYTES = 64 * 2**20
SPOOL_BYTES = 4 * 2**20  # a nested zip is copied to a temporary file beyond this
CHUNK_BYTES = 64 * 2**10


class _Budget:
    """The uncompressed bytes an upload may still read before the import is refused."""

    def __init__(self, limit: int = MAX_UNZIPPED_BYTES) -> None:
        self.limit = self.left = limit

    def reader(self, stream: IO[bytes], name: str) -> _CappedReader:
        return _CappedReader(stream, self, name)


class _CappedReader:
    """A binary stream that counts what is read against the upload's budget."""

    def __init__(self, stream: IO[bytes], budget: _Budget, name: str) -> None:
        self.stream, self.budget, self.name = stream, budget, name

    def read(self, size: int = -1) -> bytes:
        wanted = self.budget.left + 1 if size < 0 else min(size, self.budget.left + 1)
        data = self.stream.read(wanted)
        self.budget.left -= len(data)
        if self.budget.left < 0:
            raise ImportFailed(
                [
                    f"{self.name}: unpacks to more than {self.budget.limit // 2**20} MB; a daily "
                    f"{REPORT_TYPE} report is about 5 MB (refused unread)"
                ]
            )
        return data


def import_b3_report(
    source: Path | str | IO[bytes], *, filename: str | None = None, user: User | None = None
) -> ImportResult:
    """Import the settlement prices of supported futures from a BVBG.187 report (.zip or .xml)."""
    name = source_name(source, filename)
    report = _Report()
    with ExitStack() as stack:
        if isinstance(source, str | PathLike):
            try:
                handle: IO[bytes] = stack.enter_context(open(source, "rb"))
            except OSError as exc:
                raise ImportFailed([f"{name}: cannot read the file ({exc.strerror})"]) from exc
        else:
            handle = source
        try:
            for member, stream in _xml_documents(handle, name, depth=0, budget=_Budget()):
                report.read(stream, member)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ImportFailed([f"{name}: damaged zip archive ({exc})"]) from exc
    report.finish(name)

    result = store_prices(
        report.rows,
        source=PriceSource.B3,
        errors=report.errors,
        labels=LABELS,
        user=user,
        create_instruments=True,
    )
    result.ignored = report.ignored
    if report.no_settlement:
        by_root = Counter(ticker[:3] for ticker in report.no_settlement)
        result.notes.append(
            f"{len(report.no_settlement)} supported futures have no settlement price (AdjstdQt) "
            "in the report and were skipped: "
            + ", ".join(f"{root} {count}" for root, count in sorted(by_root.items()))
        )
    result.notes.extend(report.notes)
    for note in result.notes:
        logger.info("B3 import %s: %s", name, note)
    return result


def _xml_documents(
    handle: IO[bytes], name: str, *, depth: int, budget: _Budget
) -> Iterator[tuple[str, _CappedReader]]:
    """The XML documents in `handle`: itself, or the .xml members of a (nested) zip, each
    streamed (a nested zip through a temporary file) and counted against `budget`."""
    if not zipfile.is_zipfile(handle):
        handle.seek(0)
        yield name, budget.reader(handle, name)
        return
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile as exc:
        raise ImportFailed([f"{name}: damaged zip archive ({exc})"]) from exc
    found = False
    with archive:
        for info in archive.infolist():
            member = f"{name}/{info.filename}"
            lower = info.filename.lower()
            if lower.endswith(".zip") and depth < MAX_NESTING:
                found = True
                with (
                    archive.open(info) as packed,
                    tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as copy,
                ):
                    shutil.copyfileobj(budget.reader(packed, member), copy, CHUNK_BYTES)
                    copy.seek(0)
                    yield from _xml_documents(copy, member, depth=depth + 1, budget=budget)
            elif lower.endswith(".xml"):
                found = True
                with archive.open(info) as stream:
                    yield member, budget.reader(stream, member)
    if not found:
        raise ImportFailed([f"{name}: the zip archive contains no XML report"])


def _local(tag: str) -> str:
    """`{urn:bvmf.217.01.xsd}PricRpt` → `PricRpt`: match on local names, whatever the namespace."""
    return tag.rpartition("}")[2]


def _text(element: ElementTree.Element, *path: str) -> str | None:
    """Text of the descendant reached by local names `path`, or None when absent or empty."""
    node: ElementTree.Element | None = element
    for step in path:
        if node is None:
            return None
        node = next((child for child in node if _local(child.tag) == step), None)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


class _Report:
    """Rows and problems accumulated over the XML documents of one upload."""

    def __init__(self) -> None:
        self.rows: list[PriceRow] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.no_settlement: list[str] = []
        self.ignored = 0
        self.reports_seen = 0
        self._seen: dict[tuple[str, date], str] = {}
        self._today = timezone.localdate()
        self._dates: dict[str, date | str] = {}

    def read(self, stream: _CappedReader, name: str) -> None:
        root_checked = False
        try:
            for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                tag = _local(element.tag)
                if not root_checked:
                    root_checked = True
                    if tag != "Document":
                        raise ImportFailed(
                            [
                                f"{name}: not a B3 {REPORT_TYPE} price report (the XML root is "
                                f"<{tag}>, expected <Document>)"
                            ]
                        )
                if event != "end":
                    continue
                if tag == "BizGrpTp" and not (element.text or "").strip().startswith(REPORT_TYPE):
                    raise ImportFailed(
                        [
                            f"{name}: not a B3 {REPORT_TYPE} price report (it is a "
                            f"{(element.text or '?').strip()} file)"
                        ]
                    )
                if tag == "PricRpt":
                    self.reports_seen += 1
                    self._price_report(element, name, self.reports_seen)
                    element.clear()
        except ElementTree.ParseError as exc:
            raise ImportFailed(
                [f"{name}: neither a zip archive nor a well-formed XML document ({exc})"]
            ) from exc

    def finish(self, name: str) -> None:
        if not self.reports_seen:
            raise ImportFailed(
                [f"{name}: not a B3 {REPORT_TYPE} price report (no PricRpt element found)"]
            )

    def _price_report(self, element: ElementTree.Element, name: str, number: int) -> None:
        ticker = _text(element, "SctyId", "TckrSymb") or ""
        where = f"{name}, PricRpt #{number} ({ticker or 'no ticker'})"
        if not ticker:
            self.errors.append(f"{where}, {LABELS['ticker']}: missing")
            return
        if not is_supported_future(ticker):
            self.ignored += 1  # options, spreads (DI1F26F27), equities, other futures
            return
        try:
            spec = parse_ticker(ticker)
        except UnknownContract as exc:
            self.ignored += 1
            self.notes.append(f"{where}: skipped, {exc}")
            return
        attributes = ("FinInstrmAttrbts",)
        raw_price = _text(element, *attributes, "AdjstdQt")
        if raw_price is None:
            self.no_settlement.append(ticker)  # no settlement that day (FRC has only a rate)
            return

        problems: list[str] = []
        day = self._date(_text(element, "TradDt", "Dt"), problems)
        price = _decimal(raw_price, "price", problems)
        if price is not None and price <= 0:
            problems.append(f"{LABELS['price']}: must be positive, got {price:f}")
        elif price is not None and not fits(price, PRICE_DIGITS):
            problems.append(f"{LABELS['price']}: {price:f} has too many digits")
        rate = None
        raw_rate = _text(element, *attributes, "AdjstdQtTax")
        if spec.quote_convention == QuoteConvention.RATE and raw_rate is not None:
            rate_pct = _decimal(raw_rate, "rate", problems)
            if rate_pct is not None:
                rate = rate_pct.scaleb(-2)  # B3 publishes % a.a.; stored as a fraction
                if not fits(rate, RATE_DIGITS):
                    problems.append(f"{LABELS['rate']}: {rate_pct:f} has too many digits")
        open_interest = _integer(_text(element, *attributes, "OpnIntrst"), "OpnIntrst", problems)
        trades = _integer(_text(element, *attributes, "RglrTxsQty"), "RglrTxsQty", problems)
        if problems:
            self.errors.extend(f"{where}, {problem}" for problem in problems)
            return
        assert day is not None and price is not None
        first = self._seen.setdefault((ticker, day), where)
        if first != where:
            self.errors.append(f"{where}: {ticker} on {day:%Y-%m-%d} already given by {first}")
            return
        self.rows.append(
            PriceRow(
                where=where,
                ticker=ticker,
                day=day,
                price=price,
                rate=rate,
                open_interest=open_interest,
                trades=trades,
            )
        )

    def _date(self, raw: str | None, problems: list[str]) -> date | None:
        if raw is None:
            problems.append(f"{LABELS['date']}: missing")
            return None
        day = self._dates.get(raw)
        if day is None:
            try:
                parsed = date.fromisoformat(raw)
            except ValueError:
                day = f"{raw!r} is not a date (YYYY-MM-DD)"
            else:
                day = date_problem(parsed, self._today) or parsed
            self._dates[raw] = day
        if isinstance(day, str):
            problems.append(f"{LABELS['date']}: {day}")
            return None
        return day


def _decimal(raw: str, field: str, problems: list[str]) -> Decimal | None:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        problems.append(f"{LABELS[field]}: {raw!r} is not a decimal number")
        return None
    return value


def _integer(raw: str | None, element: str, problems: list[str]) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        problems.append(f"element {element}: {raw!r} is not a whole number")
        return None
