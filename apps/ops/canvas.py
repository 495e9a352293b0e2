"""The EOD and the pre-open of the firm as one Celery canvas:

    pipelines.market ──replaced by──► chord(pipelines.fund × every active fund) ──► pipelines.firm

The market task runs the market step once (`apps.ops.stages`); when it succeeds it replaces
itself (`Task.replace`) with the chord of one task per fund and the firm step as its body, so
a failed market step runs no fund. A fund's task never raises: it returns its outcome after
its retries, so the chord's body always runs and names the funds that failed; a chord that
errs all the same (a task killed past its retries, a hard time limit) calls the firm step from
its error callback. A worker killed mid-task retries the fund (`retry_on_worker_lost`) once
its lease can have expired: the retry takes the run over (ABANDONED, a new attempt).

Everything queues through the broker onto any number of workers on any hosts; in eager mode
(no broker) and from `manage.py run_eod` the same canvas runs in one process, in order
(`run_in_process`). Transient errors are retried by Celery on a worker; in one process they
fail the run at once (a retry there would only run it again immediately).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from celery import chord
from celery.canvas import Signature

from apps.ops.models import CanvasRun
from apps.ops.pipelines import Outcome, Progress, run_due, run_pipeline
from apps.ops.stages import start_canvas
from apps.positions.models import Portfolio

log = logging.getLogger(__name__)


def _quiet(line: str) -> None:
    return None


_progress: ContextVar[Progress] = ContextVar("pms_canvas_progress", default=_quiet)


def progress() -> Progress:
    """Where the running canvas prints its steps (the command's output, in one process)."""
    return _progress.get()


@contextmanager
def printing_to(sink: Progress) -> Iterator[None]:
    token = _progress.set(sink)
    try:
        yield
    finally:
        _progress.reset(token)


@dataclass
class FundResult:
    """What a fund's task returns to the chord (plain data: it travels through the broker)."""

    portfolio: int
    code: str
    status: str  # "succeeded", "failed", "busy", "nothing-due"
    runs: list[tuple[str, str]] = field(default_factory=list)  # (date, outcome) in order
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_fund(
    pipeline: str,
    portfolio_id: int,
    day: date,
    *,
    triggered_by: str,
    force: bool,
    retries_left: int,
) -> tuple[FundResult, list[Outcome]]:
    """One fund's pipeline through `day` (missed days first; with `force`, `day` again)."""
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    options: dict[str, Any] = {
        "triggered_by": triggered_by,
        "retries_left": retries_left,
        "progress": progress(),
    }
    if force:
        outcomes = [run_pipeline(pipeline, portfolio, day, force=True, **options)]
    else:
        outcomes = run_due(pipeline, day, portfolio=portfolio, **options)
    runs = [(o.run.business_date.isoformat(), o.status) for o in outcomes if o.run is not None]
    last = outcomes[-1] if outcomes else None
    if last is None:
        return FundResult(portfolio_id, portfolio.code, "nothing-due", runs), outcomes
    if last.status in ("ran", "already-done", "not-business-day"):
        return FundResult(portfolio_id, portfolio.code, "succeeded", runs), outcomes
    error = last.run.error if last.run is not None else ""
    if last.status == "busy":
        error = "busy: another process holds its lease (a run in progress elsewhere)"
    when = f"{last.run.business_date:%Y-%m-%d}: " if last.run is not None else ""
    status = last.status if last.status in ("busy", "transient") else "failed"
    return FundResult(portfolio_id, portfolio.code, status, runs, when + error), outcomes


def active_funds() -> list[int]:
    return list(Portfolio.objects.active().order_by("code").values_list("pk", flat=True))


def signature(canvas: CanvasRun, *, force: bool = False) -> Signature:
    """The canvas of a started `CanvasRun`: its market task (which replaces itself with the
    funds' chord and the firm step, `fund_chord`)."""
    from apps.ops.tasks import run_market

    return run_market.si(canvas.pk, canvas.attempt, force)


def fund_chord(canvas: CanvasRun, *, force: bool) -> Signature:
    """One task per fund, then the firm step over what they returned."""
    from apps.ops.tasks import run_firm, run_firm_after_error, run_fund

    day = canvas.business_date.isoformat()
    header = [
        run_fund.si(canvas.pipeline, pk, day, canvas.triggered_by, force) for pk in canvas.funds
    ]
    body = run_firm.s(canvas.pk, canvas.attempt)
    body.on_error(run_firm_after_error.s(canvas_id=canvas.pk, attempt=canvas.attempt))
    return chord(header, body)


def launch(pipeline: str, day: date, *, triggered_by: str, force: bool = False) -> CanvasRun:
    """Start the canvas of every active fund for `day` on the workers (eager: right here)."""
    canvas = start_canvas(pipeline, day, active_funds(), triggered_by=triggered_by)
    signature(canvas, force=force).apply_async()
    return canvas


@dataclass(frozen=True)
class CanvasResult:
    canvas: CanvasRun
    funds: list[dict[str, Any]]  # the funds' FundResult dicts, in the canvas's order


def run_in_process(
    pipeline: str,
    day: date,
    *,
    triggered_by: str,
    force: bool = False,
    sink: Progress = _quiet,
) -> CanvasResult:
    """The same canvas, every task applied in this process in order (`manage.py run_eod`, the
    pipelines page without a broker)."""
    canvas = start_canvas(pipeline, day, active_funds(), triggered_by=triggered_by)
    with printing_to(sink):
        result = signature(canvas, force=force).apply(throw=True).get()
    canvas.refresh_from_db()
    return CanvasResult(canvas, list(result.get("funds", [])) if isinstance(result, dict) else [])
