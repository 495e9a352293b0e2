"""Celery tasks: thin interfaces onto the pipelines (ids and dates in, one service call)."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from apps.marketdata.calendar import is_business_day
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_due, run_pipeline
from apps.positions.models import Portfolio

log = logging.getLogger(__name__)


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else timezone.localdate()


def _fan_out(pipeline: str, day: date) -> list[int]:
    if not is_business_day(day):
        log.info("%s triggered on %s, not an ANBIMA business day: nothing to do", pipeline, day)
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


@shared_task(name="pipelines.run_eod_portfolio", acks_late=True)
def run_eod_portfolio(portfolio_id: int, day: str) -> list[str]:
    """The EOD of one portfolio through `day`, missed days first."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    outcomes = run_due(PipelineRun.Pipeline.EOD, _day(day), portfolio=portfolio)
    return [o.status for o in outcomes]


@shared_task(name="pipelines.run_preopen_portfolio", acks_late=True)
def run_preopen_portfolio(portfolio_id: int, day: str) -> str:
    """The pre-open of one portfolio for `day`."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    return run_pipeline(
        PipelineRun.Pipeline.PREOPEN, portfolio, _day(day), triggered_by="beat"
    ).status


@shared_task(name="pipelines.rerun", acks_late=True)
def rerun_pipeline(pipeline: str, portfolio_id: int, day: str, triggered_by: str) -> str:
    """One pipeline of one portfolio for `day` run again, even after a success (the pipeline
    page's re-run, queued for the workers)."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    outcome = run_pipeline(pipeline, portfolio, _day(day), triggered_by=triggered_by, force=True)
    return outcome.status
