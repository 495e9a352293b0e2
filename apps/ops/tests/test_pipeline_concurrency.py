"""Pipelines under concurrency and crashes: two triggers run once, a killed worker's run is
completed by a re-run with the same marks, and an EOD leaves every cached page warm."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.ops import pipelines
from apps.ops.models import PipelineRun, StepRun
from apps.ops.pipelines import run_due, run_pipeline
from apps.ops.tests.support import D1, D3, D4, PAGES, get, long_wdo
from apps.positions.models import DailyMark, NavRecord
from tests.support import Book

pytestmark = pytest.mark.django_db(transaction=True)
# `fund` and `alice` are conftest.py's: EOD through D3, the pack of D4, an isolated cache.

MARK_FIELDS = ("date", "quantity", "price", "fx_rate", "pnl_brl", "cum_pnl_brl", "exposure_brl")


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no handler catches it."""


@pytest.fixture
def priced(book_at: Any, settings: Any) -> Any:
    """A fund long WDOH25 from D1 with prices and fixings through D3 (nothing marked yet)."""
    settings.PIPELINE_RETRY_DELAYS = [0, 0]
    settings.CACHE_WRITE_THROUGH = False

    def make() -> Any:
        book = book_at(D1, "WDOH25")
        book.trade("WDOH25", "BUY", "10", D1, price="5529.50")
        return book

    return long_wdo(book_at, through=D3), make


def marks_of(portfolio: Any) -> list[tuple[Any, ...]]:
    return list(
        DailyMark.objects.filter(portfolio=portfolio).order_by("date").values_list(*MARK_FIELDS)
    )


def test_two_triggers_at_once_run_once(priced: Any) -> None:
    if connection.vendor != "postgresql":
        # The lease holds on SQLite too (test_pipeline_lease runs two processes on a SQLite
        # file); threads on the in-memory test database cannot show it.
        pytest.skip("threads need a database server; see test_pipeline_lease for SQLite")
    book, _ = priced
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def trigger() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(run_pipeline("eod", book.portfolio, D1, triggered_by="race").status)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(outcomes) in (["busy", "ran"], ["already-done", "ran"])
    assert PipelineRun.objects.filter(status=PipelineRun.Status.SUCCESS).count() == 1
    assert PipelineRun.objects.get().attempt == 1
    assert DailyMark.objects.filter(date=D1).count() == 1
    assert NavRecord.objects.filter(date=D1).count() == 1


def test_a_killed_worker_is_completed_by_a_rerun_with_the_same_marks(
    priced: Any, monkeypatch: Any
) -> None:
    book, make_twin = priced

    def killed(portfolio: Any, day: date) -> str:
        raise WorkerKilled()

    steps = list(pipelines.PIPELINES["eod"])
    at = [name for name, _ in steps].index("mtm") + 1
    monkeypatch.setitem(pipelines.PIPELINES, "eod", [*steps[:at], ("killed", killed), *steps[at:]])
    with pytest.raises(WorkerKilled):
        run_pipeline("eod", book.portfolio, D1)
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.RUNNING  # as a dead worker leaves it
    assert [s.name for s in run.steps.all()] == ["check_prices", "mtm", "killed"]
    assert run.steps.get(name="killed").status == StepRun.Status.RUNNING
    assert DailyMark.objects.filter(portfolio=book.portfolio, date=D1).count() == 1

    monkeypatch.setitem(pipelines.PIPELINES, "eod", steps)
    rerun = run_due("eod", D3, portfolio=book.portfolio, triggered_by="ops")
    assert [o.status for o in rerun] == ["ran", "ran", "ran"]
    run.refresh_from_db()
    assert (run.status, run.attempt, run.triggered_by) == ("SUCCESS", 2, "ops")
    assert run.steps.filter(run_attempt=2, status="SUCCESS").count() == len(steps)

    twin = make_twin()  # the same fund, run cleanly
    assert [o.status for o in run_due("eod", D3, portfolio=twin.portfolio)] == ["ran"] * 3
    assert marks_of(book.portfolio) == marks_of(twin.portfolio)
    assert len(marks_of(book.portfolio)) == 3


def test_after_an_eod_the_first_read_of_every_cached_page_is_a_hit(
    fund: Book, alice: Client
) -> None:
    """The EOD's last step warms the read models: nobody waits for the first build."""
    assert run_pipeline("eod", fund.portfolio, D4).status == "ran"
    for page in PAGES:
        response = get(alice, page, fund)
        assert response["X-Cache"] == "hit", (page, response["X-Cache-Detail"])
        assert response["X-Cache-Detail"] == "page=miss; data=hit"
    book = get(alice, "book", fund).content.decode()
    assert "06 Feb 2025" in book  # the D4 marks, just computed
