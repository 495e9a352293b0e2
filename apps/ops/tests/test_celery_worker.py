"""A real Celery worker and beat against the test database (PostgreSQL) and Redis.

The worker is `celery -A pms_project worker --pool solo` in a subprocess with DATABASE_URL on
this test's database; tasks go through a Redis broker (a database index of its own, a queue
name of its own so parallel runs never take each other's tasks). Beat, started for a few
seconds, installs the schedule as `PeriodicTask` rows.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from apps.ops.models import PipelineRun
from apps.ops.tests.support import long_wdo
from apps.ops.tests.workers import database_url, start, stop
from apps.positions.models import DailyMark, NavRecord
from tests.support import service_missing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BROKER_DB = 9
D1, D2, D3 = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)


def _redis_base() -> str:
    """The suite's Redis (REDIS_URL), else the conventional local one; skip if it is down."""
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            alive = conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        alive = False
    if not alive:
        service_missing(f"no Redis at {parts.hostname}:{parts.port or 6379}")
    return url


@pytest.fixture
def services() -> dict[str, str]:
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database server (PostgreSQL)")
    redis = _redis_base()
    broker = urlunsplit(urlsplit(redis)._replace(path=f"/{BROKER_DB}"))
    tag = uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "REDIS_URL": redis,
        "CACHE_KEY_PREFIX": f"pms-worker-{tag}",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "DJANGO_SETTINGS_MODULE": "pms_project.settings",
    }
    return {"broker": broker, "queue": f"pms-test-{tag}", "tag": tag, **env}


@pytest.fixture
def fund(book_at: Any, settings: Any) -> Any:
    settings.CACHE_WRITE_THROUGH = False
    return long_wdo(book_at, through=D3)


@pytest.fixture
def worker(services: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in services.items() if k not in ("broker", "queue", "tag")}
    log = tmp_path / "worker.log"
    process = start(
        [
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-Q",
            services["queue"],
            "-n",
            f"{services['queue']}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        log,
    )
    try:
        yield {**services, "log": str(log)}
    finally:
        stop(process)


def test_a_real_worker_runs_the_eod_of_a_portfolio(fund: Any, worker: dict[str, str]) -> None:
    from celery import Celery

    app = Celery(
        "pms-test", broker=worker["broker"], backend=worker["broker"], set_as_current=False
    )
    result = app.send_task(
        "pipelines.run_eod_portfolio",
        args=[fund.portfolio.pk, D3.isoformat()],
        queue=worker["queue"],
    )
    try:
        statuses = result.get(timeout=60)
    except Exception as error:
        log = Path(worker["log"]).read_text()[-4000:]
        raise AssertionError(f"the worker did not finish the task: {error}\n{log}") from error
    finally:
        result.forget()
        app.close()
    assert statuses == ["ran", "ran", "ran"]
    runs = PipelineRun.objects.filter(portfolio=fund.portfolio).order_by("business_date")
    assert [(r.business_date, r.status, r.triggered_by) for r in runs] == [
        (D1, "SUCCESS", "beat"),
        (D2, "SUCCESS", "beat"),
        (D3, "SUCCESS", "beat"),
    ]
    assert DailyMark.objects.filter(portfolio=fund.portfolio).count() == 3
    assert NavRecord.objects.get(portfolio=fund.portfolio, date=D3).nav_close > 0
    assert "pipelines.run_eod_portfolio" in Path(worker["log"]).read_text()


def test_beat_installs_the_schedule_in_the_database(
    services: dict[str, str], tmp_path: Path
) -> None:
    from django_celery_beat.models import PeriodicTask

    env = {k: v for k, v in services.items() if k not in ("broker", "queue", "tag")}
    log = tmp_path / "beat.log"
    process = start(
        [
            "beat",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel",
            "INFO",
            "--pidfile",
            str(tmp_path / "beat.pid"),
        ],
        env,
        log,
    )
    try:
        deadline = time.monotonic() + 30
        names = {"pipelines.run_eod", "pipelines.run_preopen"}
        while time.monotonic() < deadline and not names <= set(
            PeriodicTask.objects.values_list("task", flat=True)
        ):
            time.sleep(0.25)
    finally:
        stop(process)
    tasks = {t.task: t for t in PeriodicTask.objects.select_related("crontab")}
    assert names <= set(tasks), log.read_text()[-4000:]
    for task, hour in (("pipelines.run_eod", "18"), ("pipelines.run_preopen", "6")):
        crontab = tasks[task].crontab
        assert crontab is not None and tasks[task].enabled
        assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", hour, "mon-fri")
        assert str(crontab.timezone) == "America/Sao_Paulo"


def test_a_worker_killed_mid_eod_is_marked_abandoned_and_taken_over(
    fund: Any, services: dict[str, str], tmp_path: Path, settings: Any
) -> None:
    """`kill -9` of a real worker in the middle of the MTM: its run stays RUNNING only until
    its lease expires; verify_system then FAILs it as overdue, and the sweep (beat, every few
    minutes) marks it ABANDONED and runs the day again."""
    import psycopg

    from apps.ops.models import StepRun
    from apps.ops.pipelines import stale_runs, sweep
    from apps.ops.verify import FAIL, run_checks

    settings.PIPELINE_LEASE_SECONDS = 5
    env = {k: v for k, v in services.items() if k not in ("broker", "queue", "tag")}
    env["PIPELINE_LEASE_SECONDS"] = "5"
    log = tmp_path / "worker.log"
    queue = services["queue"]
    args = ["worker", "--pool", "solo", "--loglevel", "INFO", "-Q", queue, "-n", f"{queue}@%h"]
    worker = start([*args, "--without-gossip", "--without-mingle"], env, log)
    db = connection.settings_dict
    # A second session holds the NAV table against writes: the worker's MTM waits there, so
    # the kill lands mid-run however fast the machine is.
    holder = psycopg.connect(
        host=db["HOST"] or "localhost",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    from celery import Celery

    app = Celery(
        "pms-test", broker=services["broker"], backend=services["broker"], set_as_current=False
    )
    try:
        holder.execute("LOCK TABLE positions_navrecord IN SHARE ROW EXCLUSIVE MODE")
        app.send_task(
            "pipelines.run_eod_portfolio",
            args=[fund.portfolio.pk, D1.isoformat()],
            queue=services["queue"],
        )
        deadline = time.monotonic() + 60
        while not StepRun.objects.filter(name="mtm", status="RUNNING").exists():
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.1)
        worker.kill()  # SIGKILL: no handler, no finally, no lease release
        worker.wait(timeout=20)
    finally:
        holder.rollback()
        holder.close()
        app.close()
        stop(worker)
    run = PipelineRun.objects.get(business_date=D1)
    assert run.status == PipelineRun.Status.RUNNING  # what the dead worker left
    deadline = time.monotonic() + 20
    while not stale_runs():
        assert time.monotonic() < deadline, "the dead worker's lease never expired"
        time.sleep(0.2)
    check = next(r for r in run_checks("pipelines") if r.check == "last EOD and pre-open")
    assert check.status == FAIL and "overdue" in check.detail

    assert [o.status for o in sweep()] == ["ran"]
    run.refresh_from_db()
    assert (run.status, run.attempt, run.triggered_by) == ("SUCCESS", 2, "sweep")
    assert run.steps.get(run_attempt=1, name="mtm").status == StepRun.Status.ABANDONED
    assert DailyMark.objects.filter(portfolio=fund.portfolio, date=D1).count() == 1
