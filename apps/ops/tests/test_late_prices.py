"""Late prices re-mark (issue 19 §2): a price override for a day already marked re-marks the
fund from that day, as work queued in PostgreSQL in the price's own transaction, run by its
task after commit (eagerly in the embedded default; by a real worker through a broker), or
by the sweep when the broker was down. Until then the book says which days wait, and
`verify_system`'s check reports marks older than their prices."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apps.ops.remarks import stale_marks, sweep
from apps.ops.tests.support import D3, republish_settlement
from apps.ops.tests.test_refresh_off_request import closed_port
from apps.ops.tests.workers import start, stop, worker_env
from apps.positions.models import DailyMark, NavRecord, RemarkRequest
from apps.risk.models import RiskSnapshot
from scripts.redis_server import RedisServer
from tests.support import Book

pytestmark = pytest.mark.django_db(transaction=True)
NEW = Decimal("5600.00")


def d3_mark() -> DailyMark:
    return DailyMark.objects.get(date=D3, position__instrument__ticker="WDOH25")


def test_an_override_of_a_marked_day_re_marks_the_fund_eagerly(fund: Book, bo_carol: Any) -> None:
    old_mark, old_nav = d3_mark(), NavRecord.objects.get(portfolio=fund.portfolio, date=D3)
    old_risk = RiskSnapshot.objects.get(portfolio=fund.portfolio, date=D3)
    republish_settlement(bo_carol)  # commits; its re-mark runs after commit, in the request
    mark = d3_mark()
    assert old_mark.price != NEW and mark.price == NEW
    assert mark.pnl_brl - old_mark.pnl_brl == (NEW - old_mark.price) * 10 * 10  # 10 × R$ 10/pt
    nav = NavRecord.objects.get(portfolio=fund.portfolio, date=D3)
    assert nav.nav_close - old_nav.nav_close == mark.pnl_brl - old_mark.pnl_brl
    assert nav.prices_version > old_nav.prices_version
    risk = RiskSnapshot.objects.get(portfolio=fund.portfolio, date=D3)
    assert risk.computed_at > old_risk.computed_at  # the last day's risk computed again
    assert not RemarkRequest.objects.exists()
    assert stale_marks() == []


def test_with_the_broker_down_the_work_waits_in_the_database_and_the_sweep_runs_it(
    fund: Book, bo_carol: Any, alice: Client, broker: Callable[[str], None], caplog: Any
) -> None:
    broker(f"redis://127.0.0.1:{closed_port()}/0")
    republish_settlement(bo_carol)  # commits; the publish fails, is logged and swallowed
    assert "not queued (broker unavailable)" in caplog.text
    request = RemarkRequest.objects.get(portfolio=fund.portfolio)
    assert request.from_day == D3 and "WDOH25" in request.reason
    assert d3_mark().price != NEW  # not yet re-marked
    assert stale_marks() == [(fund.portfolio.code, D3, 1)]  # verify_system's finding
    page = alice.get(f"/book/?portfolio={fund.portfolio.code}").content.decode()
    assert 'data-testid="remark-pending"' in page and "Re-marking from" in page

    assert sweep() == []  # too young: its task may still be on its way
    assert sweep(grace=timedelta(0)) == [fund.portfolio.pk]
    assert d3_mark().price == NEW
    assert not RemarkRequest.objects.exists() and stale_marks() == []


@pytest.mark.slow
def test_a_real_worker_re_marks_after_the_override_commits(
    fund: Book,
    bo_carol: Any,
    broker: Callable[[str], None],
    private_redis: RedisServer,
    tmp_path: Path,
) -> None:
    env = worker_env(private_redis.url, "pms-remark")
    log = tmp_path / "worker.log"
    args = ["worker", "--pool", "solo", "--loglevel", "INFO", "--without-gossip"]
    process = start([*args, "--without-mingle"], env, log)
    try:
        broker(private_redis.url)
        republish_settlement(bo_carol)
        deadline = time.monotonic() + 60
        while RemarkRequest.objects.exists() or d3_mark().price != NEW:
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.2)
    finally:
        stop(process)
    assert "marks.remark" in log.read_text()
    assert stale_marks() == []


def test_a_price_no_fund_holds_or_a_fixing_the_mtm_does_not_read_re_marks_nobody(
    fund: Book, bo_carol: Any
) -> None:
    """Only the funds a change moves are re-marked; the others' marks stay true, and
    `verify_system` does not call them older than their prices."""
    from apps.marketdata.models import Fixing, Instrument
    from apps.marketdata.services import override_price
    from apps.marketdata.tests.factories import InstrumentFactory

    InstrumentFactory.create(ticker="DI1F27")
    override_price(
        Instrument.objects.get(ticker="DI1F27"),
        D3,
        price=Decimal("88000"),
        rate=Decimal("0.1450"),
        reason="A contract no fund holds.",
        by=bo_carol,
    )
    Fixing.objects.create(index="SELIC_TARGET", date=D3, value=Decimal("0.1325"))
    assert not RemarkRequest.objects.exists()
    assert stale_marks() == []
