"""B3 BVBG.187 import, against the real report of 2025-02-03 and small synthetic ones."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.marketdata.calendar import business_days
from apps.marketdata.importers import ImportFailed, import_b3_report
from apps.marketdata.models import Instrument, PriceSource, SettlementPrice
from apps.marketdata.pricing import dap_pu, ddi_pu, di1_pu
from tests.support import service_missing

pytestmark = pytest.mark.django_db

TRADE_DATE = date(2025, 2, 3)
# Plain futures with a settlement price (AdjstdQt) in SPRD250203.zip, counted independently
# of the importer: rows matching ^(DI1|DAP|DDI|DOL|WDO|IND|WIN)[FGHJKMNQUVXZ]\d\d$ with an
# AdjstdQt. The 38 FRC rows carry only a rate (AdjstdQtTax) and are skipped.
EXPECTED = {"DI1": 39, "DAP": 21, "DDI": 39, "DOL": 25, "WDO": 20, "IND": 12, "WIN": 12}
PRICE_REPORTS_IN_FILE = 2275


def sprd_file() -> Path:
    candidates = [Path(settings.BASE_DIR).parent / "shared/data/b3/SPRD250203.zip"]
    if shared := os.environ.get("PMS_SHARED_DIR"):
        candidates.append(Path(shared) / "data/b3/SPRD250203.zip")
    for path in candidates:
        if path.exists():
            return path
    service_missing(f"B3 report SPRD250203.zip not found in {', '.join(map(str, candidates))}")
    raise AssertionError  # unreachable: service_missing skips or fails


@pytest.fixture
def sprd() -> Path:
    return sprd_file()


# --- The real report --------------------------------------------------------------------------


def test_the_report_holds_the_futures_we_expect(sprd: Path) -> None:
    """Count the rows straight from the XML, without the importer."""
    with zipfile.ZipFile(sprd) as archive:
        [member] = archive.namelist()
        xml = archive.read(member).decode()
    reports = re.findall(r"<PricRpt>.*?</PricRpt>", xml, flags=re.S)
    plain = re.compile(r"<TckrSymb>((DI1|DAP|DDI|DOL|WDO|IND|WIN)[FGHJKMNQUVXZ]\d\d)</TckrSymb>")
    counts = Counter(
        match.group(2)
        for report in reports
        if (match := plain.search(report)) and "<AdjstdQt " in report
    )
    assert len(reports) == PRICE_REPORTS_IN_FILE
    assert counts == EXPECTED


def test_it_imports_every_supported_future_and_creates_the_instruments(sprd: Path) -> None:
    result = import_b3_report(sprd)

    total = sum(EXPECTED.values())
    assert (result.created, result.unchanged, result.source) == (total, 0, "B3")
    assert result.instruments_created == total
    assert (result.first_date, result.last_date) == (TRADE_DATE, TRADE_DATE)
    assert result.ignored == PRICE_REPORTS_IN_FILE - total - 38
    assert any(
        "38 supported futures have no settlement price" in n and "FRC 38" in n for n in result.notes
    )
    stored = Counter(
        SettlementPrice.objects.filter(source=PriceSource.B3, date=TRADE_DATE).values_list(
            "instrument__kind", flat=True
        )
    )
    assert stored == EXPECTED


def test_the_import_takes_a_few_queries_whatever_the_row_count(sprd: Path) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert import_b3_report(sprd).created == sum(EXPECTED.values())

    # Instruments, stored prices (none to look up: every instrument is new), the created
    # instruments re-read; INSERTs in batches.
    # + the change note (docs/INTRADAY.md): its counter (made first) read back, the funds
    # marked then, the pending re-marks.
    assert [q["sql"].split()[0] for q in queries.captured_queries].count("SELECT") <= 7
    assert len(queries.captured_queries) < 18


def test_it_stores_the_settlement_rate_open_interest_and_trades(sprd: Path) -> None:
    import_b3_report(sprd)

    row = SettlementPrice.objects.get(instrument__ticker="DI1F26", date=TRADE_DATE)
    assert (row.price, row.rate) == (Decimal("88093.23"), Decimal("0.14901"))
    assert (row.open_interest, row.trades) == (3760917, 40478)
    wdo = SettlementPrice.objects.get(instrument__ticker="WDOH25", date=TRADE_DATE)
    assert wdo.rate is None  # price-quoted


def test_created_instruments_follow_the_contract_code(sprd: Path) -> None:
    import_b3_report(sprd)

    di1 = Instrument.objects.get(ticker="DI1F26")
    assert (di1.kind, di1.maturity, di1.quote_convention) == ("DI1", date(2026, 1, 2), "RATE")
    assert (di1.asset_class, di1.currency, di1.multiplier) == ("RATES", "BRL", Decimal("1"))
    dol = Instrument.objects.get(ticker="DOLH25")
    assert (dol.multiplier, dol.maturity, dol.underlying) == (
        Decimal("50"),
        date(2025, 3, 5),
        "USDBRL",
    )
    assert not Instrument.objects.filter(ticker__startswith="FRC").exists()
    assert not Instrument.objects.filter(ticker="DI1F26F27").exists()


def _mismatches(kind: str, pu) -> list[str]:  # type: ignore[no-untyped-def]
    rows = SettlementPrice.objects.filter(
        source=PriceSource.B3, date=TRADE_DATE, instrument__kind=kind
    ).select_related("instrument")
    assert len(rows) == EXPECTED[kind]
    wrong = []
    for row in rows:
        mine = pu(row.rate, row.instrument.maturity)
        if mine != row.price:
            wrong.append(f"{row.instrument.ticker}: B3 {row.price} ≠ {mine} (rate {row.rate})")
    return wrong


def test_every_di1_pu_matches_b3_to_the_cent(sprd: Path) -> None:
    import_b3_report(sprd)

    assert _mismatches("DI1", lambda rate, mat: di1_pu(rate, business_days(TRADE_DATE, mat))) == []


def test_every_dap_pu_matches_b3_to_the_cent(sprd: Path) -> None:
    import_b3_report(sprd)

    assert _mismatches("DAP", lambda rate, mat: dap_pu(rate, business_days(TRADE_DATE, mat))) == []


def test_every_ddi_pu_matches_b3_to_the_cent(sprd: Path) -> None:
    import_b3_report(sprd)

    assert _mismatches("DDI", lambda rate, mat: ddi_pu(rate, (mat - TRADE_DATE).days)) == []


def test_importing_the_report_again_adds_nothing(sprd: Path) -> None:
    import_b3_report(sprd)
    result = import_b3_report(sprd)

    total = sum(EXPECTED.values())
    assert (result.created, result.unchanged, result.instruments_created) == (0, total, 0)
    assert SettlementPrice.objects.count() == total
    assert Instrument.objects.count() == total


def test_the_command_imports_the_report(sprd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import_b3_prices", str(sprd))

    out = capsys.readouterr().out
    assert out.startswith("B3: 168 created, 0 unchanged, 168 instruments created, 2069 ignored")
    assert "FRC 38" in out


# --- Small synthetic reports ----------------------------------------------------------------


def price_report(
    ticker: str = "DI1F26",
    day: str = "2025-02-03",
    price: str | None = "88093.23",
    rate: str | None = "14.901",
) -> str:
    attributes = "<OpnIntrst>3760917</OpnIntrst><RglrTxsQty>40478</RglrTxsQty>"
    if price is not None:
        attributes += f'<AdjstdQt Ccy="BRL">{price}</AdjstdQt>'
    if rate is not None:
        attributes += f'<AdjstdQtTax Ccy="BRL">{rate}</AdjstdQtTax>'
    return f"""
    <BizGrp><Document xmlns="urn:bvmf.217.01.xsd"><PricRpt>
      <TradDt><Dt>{day}</Dt></TradDt>
      <SctyId><TckrSymb>{ticker}</TckrSymb></SctyId>
      <FinInstrmAttrbts>{attributes}</FinInstrmAttrbts>
    </PricRpt></Document></BizGrp>"""


def report(*reports: str, root: str = "Document") -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<{root} xmlns="urn:bvmf.052.01.xsd"><BizFileHdr><Xchg>
  <BizGrpDesc><BizGrpDtls><BizGrpTp>BVBG.187.01</BizGrpTp></BizGrpDtls></BizGrpDesc>
  {"".join(reports)}
</Xchg></BizFileHdr></{root}>""".encode()


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def refused(content: bytes, name: str = "SPRD250203.xml") -> list[str]:
    with pytest.raises(ImportFailed) as failure:
        import_b3_report(io.BytesIO(content), filename=name)
    assert SettlementPrice.objects.count() == 0
    assert Instrument.objects.count() == 0
    return failure.value.errors


def test_it_reads_a_plain_xml_and_a_zip_inside_a_zip(tmp_path: Path) -> None:
    xml = report(price_report(), price_report("WDOH25", price="5868.000", rate=None))
    path = tmp_path / "bulk.zip"
    path.write_bytes(zipped("SPRD250203.zip", zipped("BVBG.187.01_x.xml", xml)))

    assert import_b3_report(io.BytesIO(xml), filename="a.xml").created == 2
    assert import_b3_report(path).unchanged == 2


def test_options_spreads_and_other_products_are_ignored() -> None:
    xml = report(
        price_report("DI1F26F27", price="1.0"),
        price_report("PETR4", price="37.50", rate=None),
        price_report("DOLH25C005800", price="120.5", rate=None),
        price_report("CCMH25", price="75.40", rate=None),
        price_report(),
    )
    result = import_b3_report(io.BytesIO(xml), filename="a.xml")

    assert (result.created, result.ignored) == (1, 4)


def test_a_changed_settlement_is_refused_and_nothing_is_written() -> None:
    import_b3_report(io.BytesIO(report(price_report())), filename="first.xml")
    corrected = report(price_report(price="88093.30"), price_report("DI1F27", price="76828.74"))

    with pytest.raises(ImportFailed) as failure:
        import_b3_report(io.BytesIO(corrected), filename="second.xml")

    [error] = failure.value.errors
    assert error.startswith(
        "second.xml, PricRpt #1 (DI1F26), element AdjstdQt: DI1F26 on 2025-02-03"
    )
    assert "manual override" in error
    assert SettlementPrice.objects.count() == 1
    assert not Instrument.objects.filter(ticker="DI1F27").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"date,ticker,price\n", "SPRD250203.xml: neither a zip archive nor a well-formed XML"),
        (b"", "SPRD250203.xml: neither a zip archive nor a well-formed XML"),
        (b"<html><body>B3</body></html>", "not a B3 BVBG.187 price report (the XML root is <html>"),
        (report(), "SPRD250203.xml: not a B3 BVBG.187 price report (no PricRpt element found)"),
        (
            report(price_report()).replace(b"BVBG.187.01", b"BVBG.086.01"),
            "not a B3 BVBG.187 price report (it is a BVBG.086.01 file)",
        ),
        (zipped("readme.txt", b"hello"), "the zip archive contains no XML report"),
    ],
)
def test_a_file_that_is_not_a_price_report_is_refused(content: bytes, expected: str) -> None:
    [error] = refused(content)

    assert expected in error


def test_problems_in_rows_are_all_reported_with_ticker_and_element() -> None:
    errors = refused(
        report(
            price_report("DI1F26", day="2025-02-01"),
            price_report("DI1F27", price="abc"),
            price_report("DI1N26", price="-1"),
            price_report("DI1F28", day="2025-13-01"),
            price_report("DI1F26"),
            price_report("DI1F26"),
        )
    )

    assert errors == [
        "SPRD250203.xml, PricRpt #1 (DI1F26), element TradDt/Dt: 2025-02-01 is not an ANBIMA "
        "business day",
        "SPRD250203.xml, PricRpt #2 (DI1F27), element AdjstdQt: 'abc' is not a decimal number",
        "SPRD250203.xml, PricRpt #3 (DI1N26), element AdjstdQt: must be positive, got -1",
        "SPRD250203.xml, PricRpt #4 (DI1F28), element TradDt/Dt: '2025-13-01' is not a date "
        "(YYYY-MM-DD)",
        "SPRD250203.xml, PricRpt #6 (DI1F26): DI1F26 on 2025-02-03 already given by "
        "SPRD250203.xml, PricRpt #5 (DI1F26)",
    ]


def test_a_report_dated_in_the_future_is_refused() -> None:
    [error] = refused(report(price_report(day="2099-02-03")))

    assert "element TradDt/Dt: 2099-02-03 is in the future" in error


def test_a_future_without_a_settlement_price_is_skipped_with_a_note() -> None:
    result = import_b3_report(
        io.BytesIO(report(price_report("FRCJ25", price=None, rate="5.41"), price_report())),
        filename="a.xml",
    )

    assert result.created == 1
    assert result.notes == [
        "1 supported futures have no settlement price (AdjstdQt) in the report and were "
        "skipped: FRC 1"
    ]


def test_the_command_fails_with_the_errors_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "SPRD.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    stderr = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_b3_prices", str(path), stderr=stderr)

    assert "SPRD.zip:" in stderr.getvalue()
