"""The EOD canvas of several funds on a real Celery worker (prefork, 2 processes) against the
test's PostgreSQL database and a private Redis broker (a redis-server of its own: nothing else
consumes its queue, and killing things there harms no one).

One fund's task is killed with SIGKILL mid-MTM: the other funds complete, the killed one is
taken over by its lease (Celery retries a task whose worker process was lost once the dead
holder's lease can have expired: the retry marks the run ABANDONED and runs it again), the
market step ran once, and the firm step names the fund that failed (a price missing)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery import Celery
from django.db import connection

from apps.marketdata.tests.factories import InstrumentFactory
from apps.ops.models import CanvasRun, PipelineLease, PipelineRun, StepRun
from apps.ops.tests.support import D1, another_fund, long_wdo
from apps.ops.tests.workers import start, stop, worker_env
from apps.positions.models import DailyMark
from apps.risk.models import StoredFactorHistory
from scripts.redis_server import RedisServer
from tests.support import Book, BookAt

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
LEASE_SECONDS = 5


@pytest.fixture
def broker(private_redis: RedisServer) -> RedisServer:
    return private_redis


@pytest.fixture
def worker(broker: RedisServer, tmp_path: Path) -> Iterator[Path]:
    """`celery worker --pool prefork -c 2` on the broker; its log's path."""
    env = worker_env(broker.url, "pms-canvas", PIPELINE_LEASE_SECONDS=str(LEASE_SECONDS))
    log = tmp_path / "worker.log"
    args = ["worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO"]
    process = start([*args, "--without-gossip", "--without-mingle"], env, log)
    try:
        yield log
    finally:
        stop(process)


@pytest.fixture
def funds(book_at: BookAt, settings: Any) -> list[Book]:
    """ALPHA long WDOH25, BRAVO short it, CHARLIE also short WDOJ25, unpriced on D1."""
    settings.CACHE_WRITE_THROUGH = False
    alpha = long_wdo(book_at, through=D1)
    alpha.portfolio.code = "ALPHA"
    alpha.portfolio.save()
    InstrumentFactory.create(ticker="WDOJ25")
    return [alpha, another_fund(alpha, "BRAVO"), another_fund(alpha, "CHARLIE", ticker="WDOJ25")]


def wait_for(condition: Any, log: Path, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-5000:]}"
        time.sleep(0.1)


def holder_pid(fund: Book) -> int:
    """The worker process running `fund`'s EOD (its lease says host:pid:token)."""
    holder = PipelineLease.objects.get(pipeline="eod", portfolio=fund.portfolio).holder
    return int(holder.split(":")[1])


def test_a_killed_funds_task_is_taken_over_and_the_firm_step_names_the_failed_fund(
    funds: list[Book], broker: RedisServer, worker: Path
) -> None:
    alpha, bravo, _ = funds
    db = connection.settings_dict
    # A second session holds BRAVO's data-version row: BRAVO's MTM waits there (the others'
    # do not), so the kill lands mid-run however fast the machine is.
    holder = psycopg.connect(
        host=db["HOST"] or "localhost",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    app = Celery("pms-test", broker=broker.url, backend=broker.url, set_as_current=False)
    try:
        holder.execute(
            "SELECT 1 FROM ops_dataversion WHERE scope = %s FOR UPDATE",
            [f"portfolio:{bravo.portfolio.pk}"],
        )
        app.send_task("pipelines.run_eod", args=[D1.isoformat(), "test"])
        mtm = StepRun.objects.filter(run__portfolio=bravo.portfolio, name="mtm", status="RUNNING")
        wait_for(mtm.exists, worker, "BRAVO's MTM never started")
        os.kill(holder_pid(bravo), signal.SIGKILL)  # no handler, no finally, no lease release
    finally:
        holder.rollback()
        holder.close()
        app.close()
    canvas = CanvasRun.objects.filter(pipeline="eod", business_date=D1)

    def firm_done() -> bool:
        # Warming the caches is the firm step's last step, after the outcome is saved.
        done = canvas.exclude(status="RUNNING").first()
        return done is not None and "warm_caches" in [s["name"] for s in done.stage("firm")]

    wait_for(firm_done, worker, "the firm step never ran", timeout=60)
    record = canvas.get()
    text = worker.read_text()

    # The market step ran once, for every fund.
    assert record.attempt == 1
    assert [s["name"] for s in record.stage("market")] == ["check_prices", "factor_history"]
    assert StoredFactorHistory.objects.get().asof == D1
    for fund in (alpha, bravo):
        run = PipelineRun.objects.get(portfolio=fund.portfolio, business_date=D1)
        steps = {s.name: s.detail for s in run.steps.filter(run_attempt=run.attempt)}
        assert steps["check_prices"].endswith("(the market step's check).")
        assert steps["risk"].endswith("factor history the market step's")

    # ALPHA done at once; BRAVO killed, then taken over by its lease and done.
    runs = {r.portfolio.code: r for r in PipelineRun.objects.select_related("portfolio")}
    assert (runs["ALPHA"].status, runs["ALPHA"].attempt) == ("SUCCESS", 1)
    assert (runs["BRAVO"].status, runs["BRAVO"].attempt) == ("SUCCESS", 2), text[-5000:]
    first = runs["BRAVO"].steps.get(run_attempt=1, name="mtm")
    assert first.status == StepRun.Status.ABANDONED
    assert "WorkerLostError" in text
    assert DailyMark.objects.filter(portfolio=bravo.portfolio, date=D1).count() == 1

    # The firm step ran over ALPHA and BRAVO and names CHARLIE.
    assert record.status == "PARTIAL" and record.succeeded == ["ALPHA", "BRAVO"]
    assert [(f["code"], f["run"]) for f in record.failed] == [("CHARLIE", runs["CHARLIE"].pk)]
    assert "WDOJ25" in record.failed[0]["reason"]
    assert runs["CHARLIE"].status == "FAILED"
    assert [s["name"] for s in record.stage("firm")] == ["consolidated_risk", "warm_caches"]
    assert "1 of 3 funds failed: CHARLIE" in text
