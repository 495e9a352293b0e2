"""BCB SGS fixings through a real local HTTP server serving recorded responses (no network)."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from apps.marketdata.importers import ImportFailed, SGSClient, fetch_fixings
from apps.marketdata.importers.bcb_sgs import daily_to_annual, resolve_series
from apps.marketdata.models import Fixing, FixingIndex
from apps.marketdata.tests.factories import FixingFactory

RECORDED = Path(__file__).parent / "fixtures" / "bcb"
_PATH = re.compile(r"^/dados/serie/bcdata\.sgs\.(\d+)/dados$")


@dataclass
class SGSServer:
    """What the fake SGS does per series code: "ok" (default), "500", "sleep", "malformed"…"""

    url: str = ""
    behaviour: dict[int, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    sleep_seconds: float = 1.0


def _handler(state: SGSServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            parsed = urlparse(self.path)
            match = _PATH.match(parsed.path)
            if not match:
                return self._send(404, b'{"error": "not found"}')
            code = int(match.group(1))
            behaviour = state.behaviour.get(code, "ok")
            if behaviour == "500":
                return self._send(500, b"<html>Internal Server Error</html>")
            if behaviour == "sleep":
                time.sleep(state.sleep_seconds)
                return self._send(200, b"[]")
            if behaviour == "malformed":
                return self._send(200, b'[{"data": "31/01/2025", "valor": "0.049037"},')
            if behaviour == "406":
                body = '{"error": "O sistema aceita uma janela de consulta de, no máximo, 10 anos"}'
                return self._send(406, body.encode())
            if behaviour == "object":
                return self._send(200, b'{"erro": {"statusCode": 200, "detail": "odd"}}')
            query = parse_qs(parsed.query)
            start = datetime.strptime(query["dataInicial"][0], "%d/%m/%Y").date()
            end = datetime.strptime(query["dataFinal"][0], "%d/%m/%Y").date()
            rows = [
                row
                for row in json.loads((RECORDED / f"sgs_{code}.json").read_text())
                if start <= datetime.strptime(row["data"], "%d/%m/%Y").date() <= end
            ]
            if not rows:  # what SGS answers when a period has no value
                return self._send(404, b'{"error": "Value(s) not found"}')
            return self._send(200, json.dumps(rows).encode())

        def _send(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def sgs(settings: Any) -> Iterator[SGSServer]:
    state = SGSServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/dados/serie/bcdata.sgs.{{series}}/dados"
    settings.BCB_SGS_URL = state.url
    settings.BCB_TIMEOUT_SECONDS = 2.0
    yield state
    server.shutdown()
    server.server_close()


def client(**kwargs: Any) -> SGSClient:
    return SGSClient(**{"retries": 1, "backoff": 0.0, **kwargs})


JAN_20, FEB_7 = date(2025, 1, 20), date(2025, 2, 7)


def values(index: str) -> dict[date, Decimal]:
    return dict(Fixing.objects.of(index).values_list("date", "value"))


# --- Conversions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("daily", "annual"),
    [("0.049037", "0.1315"), ("0.045513", "0.1215"), ("0.040168", "0.1065")],
)
def test_daily_cdi_converts_to_the_published_annual_rate(daily: str, annual: str) -> None:
    assert daily_to_annual(Decimal(daily)) == Decimal(annual)


@given(st.integers(min_value=200, max_value=4000))
def test_the_conversion_recovers_any_two_decimal_annual_rate(basis_hundredths: int) -> None:
    """SGS derives the daily rate from the 2-decimal annual rate (A6 in %); we invert it."""
    annual = Decimal(basis_hundredths).scaleb(-4)  # 2.00 % … 40.00 %
    with localcontext() as context:
        context.prec = 40
        daily = (((1 + annual) ** (Decimal(1) / 252) - 1) * 100).quantize(Decimal("0.000001"))
    assert daily_to_annual(daily) == annual


def test_series_resolve_by_name_alias_or_code() -> None:
    names = [s.name for s in resolve_series(["CDI", " ptax", "433", "12"])]
    assert names == ["cdi", "ptax_sell", "ptax_buy", "ipca"]
    with pytest.raises(ImportFailed, match="unknown BCB series igpm"):
        resolve_series(["cdi", "igpm"])


# --- Fetching -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_cdi_as_an_annual_fraction_on_each_business_day(sgs: SGSServer) -> None:
    result = fetch_fixings(["cdi"], JAN_20, FEB_7, client=client())

    assert (result.created, result.unchanged, result.source) == (15, 0, "BCB")
    assert (result.first_date, result.last_date) == (JAN_20, FEB_7)
    cdi = values(FixingIndex.CDI)
    assert cdi[date(2025, 1, 29)] == Decimal("0.1215")
    assert cdi[date(2025, 1, 31)] == Decimal("0.1315")  # 0.049037 % a day
    assert date(2025, 2, 1) not in cdi  # Saturday
    assert Fixing.objects.get(index=FixingIndex.CDI, date=date(2025, 1, 31)).source == "BCB"
    assert sgs.requests == [
        "/dados/serie/bcdata.sgs.12/dados?formato=json&dataInicial=20/01/2025&dataFinal=07/02/2025"
    ]


@pytest.mark.django_db
def test_it_fetches_every_series_with_its_units(sgs: SGSServer) -> None:
    result = fetch_fixings(
        ["cdi", "selic", "selic_target", "ipca", "ptax"], date(2024, 10, 1), FEB_7, client=client()
    )

    assert values(FixingIndex.SELIC)[date(2025, 2, 3)] == Decimal("0.1315")
    target = values(FixingIndex.SELIC_TARGET)
    assert target[date(2025, 1, 29)] == Decimal("0.1225")
    assert target[date(2025, 2, 1)] == Decimal("0.1325")  # SGS 432 has every calendar day
    assert values(FixingIndex.IPCA_MONTHLY) == {
        date(2024, 10, 1): Decimal("0.0056"),
        date(2024, 11, 1): Decimal("0.0039"),
        date(2024, 12, 1): Decimal("0.0052"),
        date(2025, 1, 1): Decimal("0.0016"),
    }
    assert values(FixingIndex.PTAX_SELL)[date(2025, 1, 31)] == Decimal("5.8369")
    assert values(FixingIndex.PTAX_BUY)[date(2025, 1, 31)] == Decimal("5.8363")
    assert result.created == Fixing.objects.count() == 27 + 27 + 37 + 4 + 27 + 27


@pytest.mark.django_db
def test_fetching_again_adds_nothing(sgs: SGSServer) -> None:
    fetch_fixings(["cdi", "ptax"], JAN_20, FEB_7, client=client())
    result = fetch_fixings(["cdi", "ptax"], JAN_20, FEB_7, client=client())

    assert (result.created, result.unchanged) == (0, 45)
    assert Fixing.objects.count() == 45


@pytest.mark.django_db
def test_a_value_that_differs_from_the_stored_fixing_is_refused(sgs: SGSServer) -> None:
    FixingFactory.create(index=FixingIndex.CDI, date=date(2025, 1, 31), value=Decimal("0.1300"))

    with pytest.raises(ImportFailed) as failure:
        fetch_fixings(["cdi", "ptax"], JAN_20, FEB_7, client=client())

    [error] = failure.value.errors
    assert error.startswith("BCB series 12 (cdi), value #10, field valor: CDI on 2025-01-31")
    assert "0.13" in error and "0.1315" in error
    assert Fixing.objects.count() == 1


@pytest.mark.django_db
def test_a_server_error_is_retried_then_refused_and_nothing_is_written(sgs: SGSServer) -> None:
    sgs.behaviour[1] = "500"

    with pytest.raises(ImportFailed) as failure:
        fetch_fixings(["cdi", "ptax"], JAN_20, FEB_7, client=client(retries=2))

    [error] = failure.value.errors
    assert error.startswith("BCB series 1 (ptax_sell): HTTP 500 from http://127.0.0.1:")
    assert error.endswith("(after 3 attempts)")
    assert sum("bcdata.sgs.1/" in path for path in sgs.requests) == 3
    assert Fixing.objects.count() == 0  # CDI and PTAX compra were fine, and not written


@pytest.mark.django_db
def test_a_timeout_is_a_clean_error_naming_the_series(sgs: SGSServer) -> None:
    sgs.behaviour[12] = "sleep"
    started = time.monotonic()

    with pytest.raises(ImportFailed) as failure:
        fetch_fixings(["cdi"], JAN_20, FEB_7, client=client(timeout=0.2, retries=1))

    assert time.monotonic() - started < 2  # two attempts of 0.2 s, not the server's 1 s each
    url = client().url(12, JAN_20, FEB_7)
    assert failure.value.errors == [
        f"BCB series 12 (cdi): no answer from {url} within 0.2 s (after 2 attempts)"
    ]
    assert Fixing.objects.count() == 0


@pytest.mark.django_db
def test_the_default_client_uses_the_configured_timeout(sgs: SGSServer, settings: Any) -> None:
    settings.BCB_TIMEOUT_SECONDS = 0.2
    sgs.behaviour[12] = "sleep"

    with pytest.raises(ImportFailed, match=r"within 0.2 s"):
        fetch_fixings(["cdi"], JAN_20, FEB_7, client=SGSClient(retries=0))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("malformed", "BCB series 12 (cdi): the response is not valid JSON"),
        ("object", "BCB series 12 (cdi): expected a JSON list, got dict"),
    ],
)
def test_a_malformed_response_is_refused(sgs: SGSServer, behaviour: str, expected: str) -> None:
    sgs.behaviour[12] = behaviour

    with pytest.raises(ImportFailed) as failure:
        fetch_fixings(["cdi", "ptax"], JAN_20, FEB_7, client=client())

    assert failure.value.errors[0].startswith(expected)
    assert Fixing.objects.count() == 0


@pytest.mark.django_db
def test_bad_values_inside_a_response_name_the_series_and_field(
    sgs: SGSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        {"data": "31/01/2025", "valor": "5.8369"},
        {"data": "2025-02-03", "valor": "5.8264"},
        {"data": "04/02/2025", "valor": "n/d"},
        {"data": "05/02/2025"},
    ]
    monkeypatch.setattr(SGSClient, "fetch", lambda self, code, start, end: rows)

    with pytest.raises(ImportFailed) as failure:
        fetch_fixings(["ptax_sell"], JAN_20, FEB_7)

    assert failure.value.errors == [
        "BCB series 1 (ptax_sell), value #2, field data: '2025-02-03' is not a DD/MM/YYYY date",
        "BCB series 1 (ptax_sell), value #3, field valor: 'n/d' is not a number",
        "BCB series 1 (ptax_sell), value #4: expected {'data': ..., 'valor': ...}, got "
        "{'data': '05/02/2025'}",
    ]


@pytest.mark.django_db
def test_a_period_without_values_is_a_note_not_an_error(sgs: SGSServer) -> None:
    result = fetch_fixings(["ipca", "cdi"], JAN_20, FEB_7, client=client())

    assert result.created == 15
    assert result.notes == ["BCB series 433 (ipca): no values between 2025-01-20 and 2025-02-07"]


@pytest.mark.django_db
def test_an_unreachable_server_is_a_clean_error(settings: Any) -> None:
    settings.BCB_SGS_URL = "http://127.0.0.1:9/dados/serie/bcdata.sgs.{series}/dados"

    with pytest.raises(ImportFailed, match=r"BCB series 12 \(cdi\): cannot reach"):
        fetch_fixings(["cdi"], JAN_20, FEB_7, client=client())


@pytest.mark.django_db
def test_the_command_fetches_and_prints_a_summary(
    sgs: SGSServer, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command(
        "fetch_bcb", "--series", "cdi,ptax", "--start", "2025-01-20", "--end", "2025-02-07"
    )

    assert capsys.readouterr().out.startswith(
        "BCB: 45 created, 0 unchanged (2025-01-20 to 2025-02-07)."
    )
    assert Fixing.objects.count() == 45


@pytest.mark.django_db
def test_the_command_fails_with_the_errors_on_stderr(sgs: SGSServer) -> None:
    sgs.behaviour[12] = "406"  # a refusal is not retried
    stderr = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "fetch_bcb",
            "--series",
            "cdi",
            "--start",
            "2025-01-20",
            "--end",
            "2025-02-07",
            stderr=stderr,
        )

    assert "BCB series 12 (cdi): HTTP 406 from http://127.0.0.1:" in stderr.getvalue()
    assert "10 anos" in stderr.getvalue()
    assert len(sgs.requests) == 1
