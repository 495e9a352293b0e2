"""The EOD and pre-open pipelines: idempotent, ordered, stopping and alerting on failure."""

from __future__ import annotations

import re
from datetime import date
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from apps.journal.models import Entry, EntryKind
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_due, run_pipeline
from apps.ops.tests.support import long_wdo, run_of
from apps.positions.models import DailyMark, NavRecord

pytestmark = pytest.mark.django_db
D1, D2, D3 = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)


@pytest.fixture
def fund(book_at, settings):
    settings.PIPELINE_RETRY_DELAYS = [0, 0]
    settings.ADMINS = [("Ops", "ops@example.com")]
    return long_wdo(book_at, through=D3)


def test_eod_twice_leaves_one_set_of_marks_and_one_successful_run(fund) -> None:
    first = run_pipeline("eod", fund.portfolio, D1)
    second = run_pipeline("eod", fund.portfolio, D1)
    assert (first.status, second.status) == ("ran", "already-done")
    assert PipelineRun.objects.filter(status="SUCCESS").count() == 1
    assert DailyMark.objects.filter(date=D1).count() == 1
    steps = list(run_of(first).steps.values_list("name", "status"))
    assert [name for name, _ in steps] == [
        "check_prices",
        "mtm",
        "nav",
        "attribution",
        "risk",
        "compliance",
        "warm_caches",
    ]
    assert {status for _, status in steps} == {"SUCCESS"}


def test_missed_business_days_are_caught_up_in_order(fund) -> None:
    outcomes = run_due("eod", D3, portfolio=fund.portfolio)
    assert [run_of(o).business_date for o in outcomes] == [D1, D2, D3]
    assert list(NavRecord.objects.values_list("date", flat=True).order_by("date")) == [D1, D2, D3]


def test_a_weekend_trigger_does_nothing(fund, caplog) -> None:
    assert run_pipeline("eod", fund.portfolio, date(2025, 2, 8)).status == "not-business-day"
    assert not PipelineRun.objects.exists()
    assert "not a business day" in caplog.text


def test_a_failing_step_stops_the_run_and_raises_the_alarm(fund) -> None:
    # No price on 6 Feb: check_prices fails; MTM and later steps never run.
    outcome = run_pipeline("eod", fund.portfolio, date(2025, 2, 6))
    assert outcome.status == "failed"
    run = run_of(outcome)
    assert run.status == "FAILED" and "WDOH25" in run.error
    assert list(run.steps.values_list("name", "status")) == [("check_prices", "FAILED")]
    assert not NavRecord.objects.filter(date=date(2025, 2, 6)).exists()
    assert len(mail.outbox) == 1 and "FAILED" in mail.outbox[0].subject
    failure = Entry.objects.get(kind=EntryKind.PIPELINE_RUN)
    assert failure.snapshot["status"] == "FAILED"


def test_a_transient_error_is_retried_by_celery_then_fails_the_run(fund, monkeypatch) -> None:
    from django.db import OperationalError

    from apps.ops import pipelines

    calls = []

    def flaky(portfolio, day):
        calls.append(day)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setitem(pipelines.PIPELINES, "eod", [("mtm", flaky)])
    monkeypatch.setattr(pipelines.time, "sleep", forbidden_sleep)
    from apps.ops.tasks import run_eod_portfolio
    from pms_project.celery import app

    # Eager Celery runs the retries at once (a worker waits the countdown between them); with
    # eager propagation on, Celery would raise its Retry instead of applying it.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    statuses = run_eod_portfolio.delay(fund.portfolio.pk, D1.isoformat()).get()
    assert len(calls) == 3  # the first try and two retries (PIPELINE_RETRY_DELAYS)
    assert statuses == ["failed"]
    run = PipelineRun.objects.get()
    assert (run.status, run.attempt) == ("FAILED", 3)
    assert len(mail.outbox) == 1  # the alarm once, for the last try


def forbidden_sleep(seconds: float) -> None:
    raise AssertionError("a worker must not sleep: retries go through Celery's self.retry")


def test_a_failed_run_can_be_rerun_and_succeeds(fund) -> None:
    bad = date(2025, 2, 6)
    assert run_pipeline("eod", fund.portfolio, D1).status == "ran"
    assert run_pipeline("eod", fund.portfolio, bad).status == "failed"
    fund.market_day("WDOH25", bad, "5570.00")
    # The EOD of 6 Feb needs 4 and 5 Feb first: run_due catches them up in order.
    outcomes = run_due("eod", bad, portfolio=fund.portfolio)
    assert [o.status for o in outcomes] == ["ran", "ran", "ran"]
    rerun = PipelineRun.objects.get(business_date=bad)
    assert (rerun.status, rerun.attempt) == ("SUCCESS", 2)


def test_run_eod_command_prints_the_steps(fund) -> None:
    out = StringIO()
    call_command("run_eod", "--date", D2.isoformat(), stdout=out)
    assert "2025-02-04: ran" in out.getvalue()
    assert "check_prices" in out.getvalue()
    # Progress: each date, then each step with its duration in seconds.
    assert "demo 2025-02-04 eod: attempt 1" not in out.getvalue()
    assert re.search(
        r"2025-02-04 eod: attempt 1\n\s+1/7 check_prices\s+ok\s+\d+\.\d\d s", out.getvalue()
    )
    with pytest.raises(CommandError):
        call_command("run_eod", "--date", "2025-02-06", stdout=StringIO())


def test_preopen_generates_the_pack(fund, settings) -> None:
    settings.ANTHROPIC_API_KEY = ""
    run_pipeline("eod", fund.portfolio, D1)
    outcome = run_pipeline("preopen", fund.portfolio, D2)
    assert outcome.status == "ran"
    assert [s.name for s in run_of(outcome).steps.all()] == [
        "expire",
        "proposals",
        "what_if",
        "morning_pack",
        "warm_caches",
    ]
    from apps.briefings.models import MorningPack

    assert MorningPack.objects.get().business_date == D2


def test_cache_warming_with_redis_down_says_it_was_skipped(fund, dead_redis) -> None:
    outcome = run_pipeline("eod", fund.portfolio, D1)
    assert outcome.status == "ran"  # the cache is an optimisation: the EOD still succeeds
    warm = run_of(outcome).steps.get(name="warm_caches")
    assert warm.detail == "skipped: cache unavailable"


def test_catch_up_checks_only_the_prices_of_positions_held_that_day(fund) -> None:
    from apps.marketdata.tests.factories import InstrumentFactory

    InstrumentFactory.create(ticker="WDOJ25")
    fund.price("WDOJ25", D3, "5590.00")  # listed in the fund's book only from D3
    fund.trade("WDOJ25", "BUY", "5", D3, price="5585.00")
    outcomes = run_due("eod", D3, portfolio=fund.portfolio)
    assert [(run_of(o).business_date, o.status) for o in outcomes] == [
        (D1, "ran"),
        (D2, "ran"),
        (D3, "ran"),
    ]
    again = run_pipeline("eod", fund.portfolio, D1, force=True)
    assert again.status == "ran", run_of(again).error
    check = run_of(again).steps.get(name="check_prices", run_attempt=run_of(again).attempt)
    assert check.detail.startswith("1 instruments priced")


def test_every_task_has_time_limits_within_the_brokers_visibility_timeout(settings) -> None:
    import inspect

    from apps.ops import pipelines, tasks
    from pms_project.celery import app

    hard, soft = app.conf.task_time_limit, app.conf.task_soft_time_limit
    assert hard and soft and soft < hard
    # acks_late: a task still running when the visibility timeout lapses is handed to another
    # worker, so the timeout must outlast the longest task the hard limit allows.
    assert app.conf.broker_transport_options["visibility_timeout"] > hard
    assert app.conf.task_acks_late
    assert "pipelines.sweep" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    for module in (pipelines, tasks):
        assert "time.sleep" not in inspect.getsource(module)
