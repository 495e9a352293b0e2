"""Celery tasks: thin interfaces onto the pipelines (ids and dates in, one service call)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from apps.marketdata.calendar import is_business_day
from apps.ops import canvas, monitoring, remarks, stages, warming
from apps.ops.models import CanvasRun, PipelineRun
from apps.ops.pipelines import (
    Outcome,
    eod_refusal,
    lease_seconds,
    retry_delays,
    run_due,
    run_pipeline,
    sweep,
)
from apps.positions.models import Portfolio

log = logging.getLogger(__name__)


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else timezone.localdate()


def _launch(pipeline: str, day: date, triggered_by: str) -> list[int]:
    if not is_business_day(day):
        log.info("%s triggered on %s, not an ANBIMA business day: nothing to do", pipeline, day)
        return []
    refusal = eod_refusal(day) if pipeline == PipelineRun.Pipeline.EOD else None
    if refusal:
        log.warning("EOD of %s refused: %s", day, refusal)
        return []
    return list(canvas.launch(pipeline, day, triggered_by=triggered_by).funds)


@shared_task(name="pipelines.run_eod")
def run_eod(day: str | None = None, triggered_by: str = "beat") -> list[int]:
    """18:00: the EOD canvas of every active fund (catching up missed days); their ids."""
    return _launch(PipelineRun.Pipeline.EOD, _day(day), triggered_by)


@shared_task(name="pipelines.run_preopen")
def run_preopen(day: str | None = None, triggered_by: str = "beat") -> list[int]:
    """06:00: the pre-open canvas of every active fund; their ids."""
    return _launch(PipelineRun.Pipeline.PREOPEN, _day(day), triggered_by)


# --- the canvas's tasks (apps.ops.canvas) ------------------------------------------------------

# A worker killed under a task (SIGKILL, OOM) retries it after this delay, by when the dead
# holder's lease has expired and the retry takes the run over; 3 such deaths fail the fund.
WORKER_LOST_RETRIES = 3
BUSY_RETRIES = 3  # a fund whose lease another live process holds: waited for 3 × half a lease


@shared_task(
    bind=True,
    name="pipelines.market",
    acks_late=True,
    retry_on_worker_lost=True,
    max_retries=WORKER_LOST_RETRIES,
    default_retry_delay=1,
)
def run_market(self: Task, canvas_id: int, attempt: int, force: bool = False) -> Any:
    """The market step once for every fund; then this task becomes the funds' chord."""
    record = CanvasRun.objects.get(pk=canvas_id)
    if record.attempt != attempt:
        log.info("%s: attempt %d superseded by %d; nothing to do", record, attempt, record.attempt)
        return {"canvas": canvas_id, "status": "superseded", "funds": []}
    status = stages.run_market(
        record,
        retries_left=0 if self.request.is_eager else _retries_left(self),
        progress=canvas.progress(),
    )
    if status == "transient":
        delays = retry_delays()
        raise self.retry(
            countdown=delays[min(self.request.retries, len(delays) - 1)], max_retries=len(delays)
        )
    if status == "failed":
        return {"canvas": canvas_id, "status": record.status, "funds": []}
    if not record.funds:  # no active fund: no chord to wait for
        stages.run_firm(record, results=[], triggered_by="market", progress=canvas.progress())
        return {"canvas": canvas_id, "status": record.status, "funds": []}
    return self.replace(canvas.fund_chord(record, force=force))


@shared_task(
    bind=True,
    name="pipelines.fund",
    acks_late=True,
    retry_on_worker_lost=True,
    max_retries=WORKER_LOST_RETRIES,
    default_retry_delay=lease_seconds() + 1,
)
def run_fund(
    self: Task, pipeline: str, portfolio_id: int, day: str, triggered_by: str, force: bool
) -> dict[str, Any]:
    """One fund of a canvas; returns its outcome and never raises (the firm step must run)."""
    eager = bool(self.request.is_eager)
    try:
        result, outcomes = canvas.run_fund(
            pipeline,
            portfolio_id,
            _day(day),
            triggered_by=triggered_by,
            force=force,
            retries_left=0 if eager else _retries_left(self),
        )
    except Exception as error:  # a bug or a vanished fund: this fund fails, the others go on
        log.exception("pipeline %s of portfolio %s on %s crashed", pipeline, portfolio_id, day)
        return canvas.FundResult(
            portfolio_id, "", "failed", error=f"{type(error).__name__}: {error}"
        ).as_dict()
    if not eager:
        _retry_if_transient(self, outcomes)
        if result.status == "busy" and self.request.retries < BUSY_RETRIES:
            raise self.retry(countdown=lease_seconds() / 2, max_retries=None)
    return result.as_dict()


@shared_task(
    bind=True,
    name="pipelines.firm",
    acks_late=True,
    retry_on_worker_lost=True,
    max_retries=WORKER_LOST_RETRIES,
    default_retry_delay=1,
)
def run_firm(self: Task, results: list[dict[str, Any]], canvas_id: int, attempt: int) -> Any:
    """The chord's body: the firm step over the funds that succeeded."""
    record = CanvasRun.objects.get(pk=canvas_id)
    if record.attempt == attempt:
        stages.run_firm(record, results=results, triggered_by="chord", progress=canvas.progress())
    return {"canvas": canvas_id, "status": record.status, "funds": results}


@shared_task(name="pipelines.firm_after_error")
def run_firm_after_error(
    request: Any, exc: BaseException, traceback: Any, *, canvas_id: int, attempt: int
) -> str:
    """The chord's error callback (a fund's task raised despite everything): the firm step
    runs all the same, from the funds' runs in the database."""
    log.error(
        "pipeline canvas %s: a fund's task raised %r; the firm step runs all the same",
        canvas_id,
        exc,
    )
    record = CanvasRun.objects.get(pk=canvas_id)
    if record.attempt == attempt:
        stages.run_firm(
            record, results=None, triggered_by="chord error", progress=canvas.progress()
        )
    return record.status


def _retries_left(task: Task) -> int:
    return max(0, len(retry_delays()) - task.request.retries)


def _retry_if_transient(task: Task, outcomes: list[Outcome]) -> None:
    """A transient error (database, network) is retried by Celery after a backoff, never by
    sleeping inside the worker: the worker stays free and a restart keeps the retry."""
    if any(o.status == "transient" for o in outcomes):
        delays = retry_delays()
        raise task.retry(
            countdown=delays[min(task.request.retries, len(delays) - 1)], max_retries=len(delays)
        )


@shared_task(bind=True, name="pipelines.run_eod_portfolio", acks_late=True)
def run_eod_portfolio(self: Task, portfolio_id: int, day: str) -> list[str]:
    """The EOD of one portfolio through `day`, missed days first."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    outcomes = run_due(
        PipelineRun.Pipeline.EOD,
        _day(day),
        portfolio=portfolio,
        retries_left=_retries_left(self),
    )
    _retry_if_transient(self, outcomes)
    return [o.status for o in outcomes]


@shared_task(bind=True, name="pipelines.run_preopen_portfolio", acks_late=True)
def run_preopen_portfolio(self: Task, portfolio_id: int, day: str) -> str:
    """The pre-open of one portfolio for `day`."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    outcome = run_pipeline(
        PipelineRun.Pipeline.PREOPEN,
        portfolio,
        _day(day),
        triggered_by="beat",
        retries_left=_retries_left(self),
    )
    _retry_if_transient(self, [outcome])
    return outcome.status


@shared_task(bind=True, name="pipelines.rerun", acks_late=True)
def rerun_pipeline(
    self: Task, pipeline: str, portfolio_id: int, day: str, triggered_by: str
) -> str:
    """One pipeline of one portfolio for `day` run again, even after a success (the pipeline
    page's re-run, queued for the workers)."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    outcome = run_pipeline(
        pipeline,
        portfolio,
        _day(day),
        triggered_by=triggered_by,
        force=True,
        retries_left=_retries_left(self),
    )
    _retry_if_transient(self, [outcome])
    return outcome.status


@shared_task(bind=True, name="pipelines.sweep", acks_late=True)
def sweep_abandoned(self: Task) -> list[str]:
    """Every few minutes (beat): runs whose process died are marked ABANDONED and taken over;
    then the firm step of a canvas whose funds are all done but whose chord never finished
    (a task lost with its host)."""
    outcomes = sweep(retries_left=_retries_left(self))
    _retry_if_transient(self, outcomes)
    for record in stages.stalled_canvases():
        stages.run_firm(record, results=None, triggered_by="sweep", progress=canvas.progress())
    return [o.status for o in outcomes]


@shared_task(bind=True, name="cache.refresh_read_models", ignore_result=True)
def refresh_read_models(self: Task, scope: str) -> list[str]:
    """Rebuild the read models of one scope after a committed write (queued on commit)."""
    return warming.refresh_scope(scope, eager=bool(self.request.is_eager))


@shared_task(name="cache.sweep_refreshes", ignore_result=True)
def sweep_refreshes() -> list[str]:
    """Every minute (beat): the refresh requests whose task never ran."""
    return warming.sweep()


@shared_task(bind=True, name="marks.remark", ignore_result=True, acks_late=True)
def remark(self: Task, portfolio_id: int) -> list[str]:
    """Re-mark a fund after late prices (queued on commit of the price); the days re-marked."""
    warm_after = not self.request.is_eager
    return [day.isoformat() for day in remarks.run_remark(portfolio_id, warm_after=warm_after)]


@shared_task(name="marks.sweep_remarks", ignore_result=True)
def sweep_remarks() -> list[int]:
    """Every minute (beat): the re-marks whose task never ran."""
    return remarks.sweep()


@shared_task(name="monitoring.verify_journal", ignore_result=True)
def verify_journal() -> bool:
    """Every JOURNAL_VERIFY_MINUTES (beat): recompute the journal's hash chain and keep the
    result for /metrics (the alert on a broken chain)."""
    return monitoring.verify_journal_chain().ok
