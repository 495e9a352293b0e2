"""The pipeline lease: it holds across processes (on the embedded SQLite too), a run whose
process was SIGKILLed is found overdue by verify_system, marked ABANDONED and taken over."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.ops.models import PipelineRun, StepRun
from apps.ops.pipelines import run_pipeline, stale_runs, sweep
from apps.ops.tests.support import long_wdo, run_of
from apps.ops.verify import FAIL, run_checks

BASE_DIR = Path(__file__).resolve().parents[3]
DRILL = [sys.executable, "-m", "scripts.drills.worker_kill"]
SEED = """
from datetime import date
from decimal import Decimal
from apps.marketdata.models import Fixing
from apps.positions.models import Portfolio
day = date(2025, 2, 3)
Portfolio.objects.create(
    code="drill", name="Drill fund", inception_date=day, initial_nav=Decimal("1000000")
)
for index, value in (("CDI", "0.1315"), ("PTAX_SELL", "5.8")):
    Fixing.objects.create(index=index, date=day, value=Decimal(value))
"""


def pipelines_check() -> Any:
    return next(r for r in run_checks("pipelines") if r.check == "last EOD and pre-open")


@pytest.mark.django_db
def test_verify_system_fails_on_an_overdue_and_on_an_abandoned_run(book_at: Any) -> None:
    from datetime import date

    fund = long_wdo(book_at, through=date(2025, 2, 3))
    long_ago = timezone.now() - timedelta(hours=1)
    run = PipelineRun.objects.create(
        pipeline="eod",
        business_date=date(2025, 2, 3),
        portfolio=fund.portfolio,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    check = pipelines_check()
    assert check.status == FAIL and "RUNNING but overdue" in check.detail
    # Alive (a fresh heartbeat) but running for longer than any task may: hung, overdue too.
    run.started_at, run.heartbeat_at = timezone.now() - timedelta(hours=3), timezone.now()
    run.save()
    check = pipelines_check()
    assert check.status == FAIL and "past the task time limit" in check.detail
    run.status = PipelineRun.Status.ABANDONED
    run.save()
    check = pipelines_check()
    assert check.status == FAIL and "ABANDONED" in check.detail


@pytest.mark.django_db
def test_the_sweep_marks_a_dead_run_abandoned_and_takes_it_over(book_at: Any) -> None:
    from datetime import date

    day = date(2025, 2, 3)
    fund = long_wdo(book_at, through=day)
    long_ago = timezone.now() - timedelta(hours=1)
    run = PipelineRun.objects.create(
        pipeline="eod", business_date=day, portfolio=fund.portfolio, started_at=long_ago
    )
    StepRun.objects.create(run=run, order=1, name="check_prices", started_at=long_ago)
    # The dead process's lease, expired: what a SIGKILL leaves behind.
    from apps.ops.models import PipelineLease

    PipelineLease.objects.create(
        pipeline="eod", portfolio=fund.portfolio, holder="gone:1:x", expires_at=long_ago, run=run
    )
    assert stale_runs() == [run]
    assert [o.status for o in sweep()] == ["ran"]
    run.refresh_from_db()
    assert (run.status, run.attempt, run.triggered_by) == ("SUCCESS", 2, "sweep")
    assert run.steps.get(run_attempt=1).status == StepRun.Status.ABANDONED
    assert not stale_runs()


@pytest.mark.django_db
def test_a_live_lease_makes_another_trigger_busy(book_at: Any) -> None:
    from datetime import date

    from apps.ops.models import PipelineLease

    day = date(2025, 2, 3)
    fund = long_wdo(book_at, through=day)
    PipelineLease.objects.create(
        pipeline="eod",
        portfolio=fund.portfolio,
        holder="alive:1:x",
        expires_at=timezone.now() + timedelta(minutes=2),
    )
    assert run_pipeline("eod", fund.portfolio, day).status == "busy"
    assert not PipelineRun.objects.exists()


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: Any) -> Path:
    template = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{template}", "DEBUG": "true"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True
    )
    return template


def test_worker_kill_drill_on_sqlite_two_processes(migrated_sqlite: Path, tmp_path: Path) -> None:
    """The drill, as ops run it, on the embedded SQLite default: `manage.py run_eod` killed
    with SIGKILL mid-run; meanwhile a second run_eod (another process) exits busy (75); once
    the lease expires verify_system FAILs the overdue run and the sweep takes it over."""
    database = tmp_path / "pms.sqlite3"
    shutil.copy(migrated_sqlite, database)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "true",
        "PIPELINE_LEASE_SECONDS": "5",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    env.pop("CACHE_KEY_PREFIX", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "shell", "-c", SEED], cwd=BASE_DIR, env=env, check=True)
    drill = subprocess.run(
        [*DRILL, "--portfolio", "drill", "--date", "2025-02-03", "--hold-step", "mtm"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = drill.stdout + drill.stderr[-3000:]
    assert drill.returncode == 0, out
    assert "exit 75 (75 = busy)" in drill.stdout
    assert "verify_system pipelines: FAIL" in drill.stdout
    assert "sweep took over" in drill.stdout and "['ran']" in drill.stdout


@pytest.mark.django_db
def test_a_run_that_lost_its_lease_stops_before_the_next_step(
    book_at: Any, monkeypatch: Any
) -> None:
    from datetime import date

    from apps.ops import pipelines
    from apps.ops.models import PipelineLease

    day = date(2025, 2, 3)
    fund = long_wdo(book_at, through=day)

    def taken_over(portfolio: Any, day: date) -> str:
        # Presumed dead (say, the heartbeat could not write for a whole lease): another
        # process took the lease and the run.
        PipelineLease.objects.update(holder="other:2:y")
        return "slow"

    steps = pipelines.PIPELINES["eod"]
    monkeypatch.setitem(pipelines.PIPELINES, "eod", [("slow", taken_over), *steps])
    outcome = run_pipeline("eod", fund.portfolio, day)
    assert outcome.status == "busy"
    assert [s.name for s in run_of(outcome).steps.all()] == ["slow"]  # no step after it ran
    assert PipelineLease.objects.get().holder == "other:2:y"  # not released: not ours


@pytest.mark.django_db
def test_the_sweep_finishes_the_catch_up_the_dead_holder_was_running(book_at: Any) -> None:
    from datetime import date

    from apps.ops.models import PipelineLease

    d1, d3 = date(2025, 2, 3), date(2025, 2, 5)
    fund = long_wdo(book_at, through=d3)
    long_ago = timezone.now() - timedelta(hours=1)
    run = PipelineRun.objects.create(
        pipeline="eod", business_date=d1, portfolio=fund.portfolio, started_at=long_ago
    )
    PipelineLease.objects.create(
        pipeline="eod", portfolio=fund.portfolio, holder="gone:1:x", expires_at=long_ago, through=d3
    )
    outcomes = sweep()
    assert [(run_of(o).business_date.day, o.status) for o in outcomes] == [
        (3, "ran"),
        (4, "ran"),
        (5, "ran"),
    ]
    run.refresh_from_db()
    assert (run.status, run.attempt) == ("SUCCESS", 2)
