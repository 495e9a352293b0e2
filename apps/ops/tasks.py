"""Celery tasks: thin interfaces onto the pipelines (ids and dates in, one service call)."""

from __future__ import annotations

import logging
from datetime import date

from celery import Task, shared_task
from django.utils import timezone

from apps.marketdata.calendar import is_business_day
from apps.ops import warming
from apps.ops.models import PipelineRun
from apps.ops.pipelines import Outcome, eod_refusal, retry_delays, run_due, run_pipeline, sweep
from apps.positions.models import Portfolio

log = logging.getLogger(__name__)


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else timezone.localdate()


def _fan_out(pipeline: str, day: date) -> list[int]:
    if not is_business_day(day):
        log.info("%s triggered on %s, not an ANBIMA business day: nothing to do", pipeline, day)
        return []
    refusal = eod_refusal(day) if pipeline == PipelineRun.Pipeline.EOD else None
    if refusal:
        log.warning("EOD of %s refused: %s", day, refusal)
        return []
    ids = list(Portfolio.objects.active().values_list("pk", flat=True))
    task = run_eod_portfolio if pipeline == PipelineRun.Pipeline.EOD else run_preopen_portfolio
    for pk in ids:
        task.delay(pk, day.isoformat())
    return ids


@shared_task(name="pipelines.run_eod")
def run_eod(day: str | None = None) -> list[int]:
    """18:00: one EOD task per active portfolio (catching up missed days)."""
    return _fan_out(PipelineRun.Pipeline.EOD, _day(day))


@shared_task(name="pipelines.run_preopen")
def run_preopen(day: str | None = None) -> list[int]:
    """06:00: one pre-open task per active portfolio."""
    return _fan_out(PipelineRun.Pipeline.PREOPEN, _day(day))


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
    """Every few minutes (beat): runs whose process died are marked ABANDONED and taken over."""
    outcomes = sweep(retries_left=_retries_left(self))
    _retry_if_transient(self, outcomes)
    return [o.status for o in outcomes]


@shared_task(bind=True, name="cache.refresh_read_models", ignore_result=True)
def refresh_read_models(self: Task, scope: str) -> list[str]:
    """Rebuild the read models of one scope after a committed write (queued on commit)."""
    return warming.refresh_scope(scope, eager=bool(self.request.is_eager))


@shared_task(name="cache.sweep_refreshes", ignore_result=True)
def sweep_refreshes() -> list[str]:
    """Every minute (beat): the refresh requests whose task never ran."""
    return warming.sweep()
