"""Nothing silently stale: the risk a page or the API shows says when the book or a price
changed after it, until it is recomputed (by the refresh after commit, or the page's button)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from rest_framework.test import APIClient
from time_machine import TimeMachineFixture

from apps.core.models import RefreshRequest
from apps.marketdata.calendar import next_business_day
from apps.marketdata.models import Instrument
from apps.marketdata.services import override_price
from apps.risk.models import IntradayRisk
from apps.risk.tests.support import LAST, RiskBook
from tests.support import log_in

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
TODAY = next_business_day(LAST)


@pytest.fixture
def morning(risk_book: RiskBook, time_machine: TimeMachineFixture) -> RiskBook:
    """The day after the last close, 10:42."""
    time_machine.move_to(datetime.combine(TODAY, time(10, 42), SAO_PAULO), tick=False)
    return risk_book


def snapshot(api: APIClient, risk_book: RiskBook, **params: str) -> dict[str, object]:
    query = {"portfolio": risk_book.portfolio.code, **params}
    response = api.get("/api/risk/snapshot/", query)
    assert response.status_code == 200, response.content
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def api(morning: RiskBook) -> APIClient:
    client = APIClient()
    client.force_authenticate(morning.book.user)
    return client


def test_a_trade_makes_the_risk_stale_on_the_page_and_the_api_until_the_recompute(
    morning: RiskBook, api: APIClient, client: Client, settings: Any
) -> None:
    settings.CACHE_WRITE_THROUGH = False  # no refresh after commit: as before the worker ran
    code = morning.portfolio.code
    assert log_in(client, morning.book.user.username, "correct-horse-battery-staple")
    fresh = snapshot(api, morning)
    assert fresh["kind"] == "eod" and fresh["stale"] is False and fresh["stale_reason"] == ""
    assert b'data-testid="stale"' not in client.get(f"/risk/?portfolio={code}").content

    morning.book.trade("DI1F27", "BUY", "100", TODAY, rate="0.1500")

    stale = snapshot(api, morning)
    assert stale["kind"] == "eod" and stale["stale"] is True
    assert stale["stale_reason"] == "book changed at 10:42, after this snapshot"
    page = client.get(f"/risk/?portfolio={code}").content.decode()
    assert 'data-testid="stale"' in page and "Book changed at 10:42, after this snapshot" in page
    # The close's own view is not stale: the trade is of today.
    assert snapshot(api, morning, date=LAST.isoformat())["stale"] is False

    done = client.post("/risk/recompute/", {"portfolio": code})
    assert done.status_code == 302

    now = snapshot(api, morning)
    assert now["kind"] == "intraday" and now["stale"] is False
    assert now["date"] == TODAY.isoformat()
    page = client.get(f"/risk/?portfolio={code}").content.decode()
    assert 'data-testid="stale"' not in page and 'data-testid="intraday-flag"' in page
    positions = IntradayRisk.objects.get(portfolio=morning.portfolio).report["positions"]
    assert positions == morning.snapshot.report["positions"]  # DI1F27 held already: netted


def test_after_a_trade_the_refresh_recomputes_the_intraday_risk_after_commit(
    morning: RiskBook, api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    RefreshRequest.objects.all().delete()  # the fixture's own refreshes, as if long done
    with django_capture_on_commit_callbacks(execute=True):
        morning.book.trade("DI1F29", "BUY", "50", TODAY, rate="0.1530")
    live = IntradayRisk.objects.get(portfolio=morning.portfolio)
    assert live.date == TODAY and live.base_date == LAST
    now = snapshot(api, morning)
    assert now["kind"] == "intraday" and now["stale"] is False


def test_a_price_override_of_the_close_makes_its_snapshot_stale(
    morning: RiskBook, api: APIClient, settings: Any
) -> None:
    settings.CACHE_WRITE_THROUGH = False
    instrument = Instrument.objects.get(ticker="WDOH25")
    override_price(
        instrument, LAST, price=Decimal("6200.0"), reason="B3 corrected", by=morning.book.user
    )
    dated = snapshot(api, morning, date=LAST.isoformat())
    assert dated["stale"] is True
    assert dated["stale_reason"] == "prices changed at 10:42, after this snapshot"
