"""The firm-wide stages of a pipeline canvas (`apps.ops.canvas`), recorded on its `CanvasRun`.

- The **market step** runs once before the funds: what every fund's run needs from the market
  alone. EOD: the prices of the day checked for every instrument any fund holds (and the CDI
  and PTAX every fund needs), and the factor history built and stored for every fund's risk.
  Pre-open: stale proposals expired (for every fund at once) and the factor history of the
  risk date. The funds' own steps reuse these while the market data stand (`market_priced`,
  `apps.risk.history`). Without the day's CDI or PTAX every fund would fail the same way: the
  market step fails instead, alarms once, and no fund runs.
- The **firm step** runs after the funds, over those that succeeded, and names those that
  failed: consolidated risk (`apps.risk.firm.consolidated_risk`) and the firm-wide caches.
  What succeeded is read from the funds' own runs in the database, so it is right however a
  fund's task ended (a worker killed, a retry, a run taken over by its lease).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.journal.anchors import stamp as anchor_journal
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import previous_business_day
from apps.ops.models import CanvasRun, PipelineRun
from apps.ops.pipelines import TRANSIENT, Progress, StepFailed, held_by, lease_seconds, step_line
from apps.positions.models import Portfolio
from apps.risk.firm import consolidated_risk

log = logging.getLogger(__name__)
Pipeline = PipelineRun.Pipeline


def start_canvas(pipeline: str, day: date, funds: list[int], *, triggered_by: str) -> CanvasRun:
    """The day's canvas record, new or as a new attempt (a canvas launched again)."""
    now = timezone.now()
    canvas, created = CanvasRun.objects.get_or_create(
        pipeline=pipeline,
        business_date=day,
        defaults={"started_at": now, "triggered_by": triggered_by, "funds": funds},
    )
    if not created:
        canvas.attempt += 1
        canvas.status, canvas.started_at, canvas.finished_at = CanvasRun.Status.RUNNING, now, None
        canvas.triggered_by, canvas.funds, canvas.error = triggered_by, funds, ""
        canvas.market_version = canvas.priced = None
        canvas.steps, canvas.succeeded, canvas.failed = [], [], []
        canvas.save()
    return canvas


# --- the market step ------------------------------------------------------------------------


def market_check_prices(canvas: CanvasRun) -> str:
    """Every instrument a fund of the canvas holds (or traded) on the day must be priced; the
    day's CDI and PTAX must be there. Instruments missing only fail the funds that hold them
    (at their own check); missing fixings fail the canvas."""
    from apps.marketdata.models import Fixing, FixingIndex, Instrument, SettlementPrice

    day = canvas.business_date
    fixings = set(
        Fixing.objects.filter(
            date=day, index__in=[FixingIndex.CDI, FixingIndex.PTAX_SELL]
        ).values_list("index", flat=True)
    )
    absent = sorted({"CDI", "PTAX_SELL"} - fixings)
    if absent:
        raise StepFailed(f"Missing on {day:%Y-%m-%d}: {', '.join(absent)} (every fund needs it).")
    priced = set(
        SettlementPrice.objects.filter(date=day).values_list("instrument_id", flat=True).distinct()
    )
    held = held_by(canvas.funds, day)
    wanted = set().union(*held.values()) if held else set()
    unpriced = wanted - priced
    canvas.priced = sorted(priced)
    detail = (
        f"{len(wanted):,} instruments held, {len(wanted & priced):,} priced; CDI and PTAX present"
    )
    if not unpriced:
        return detail + "."
    tickers = dict(Instrument.objects.filter(pk__in=unpriced).values_list("pk", "ticker"))
    codes = dict(Portfolio.objects.filter(pk__in=canvas.funds).values_list("pk", "code"))
    holders = sorted(codes[pk] for pk, ids in held.items() if ids & unpriced)
    return (
        f"{detail}; unpriced: {', '.join(sorted(tickers.values()))} "
        f"(held by {', '.join(holders)}: those funds fail at their own check)."
    )


def _history(asof: date) -> str:
    from apps.risk.history import store_history

    started = time.perf_counter()
    history, built = store_history(asof)
    seconds = time.perf_counter() - started
    shape = f"{history.size} daily moves, {len(history.linear)} linear factors"
    if not built:
        return f"{shape} of {asof:%Y-%m-%d}: already stored for this market data"
    return f"{shape} of {asof:%Y-%m-%d}, built in {seconds:.1f} s and stored for every fund"


def market_factor_history(canvas: CanvasRun) -> str:
    """The factor history every fund's risk of the day reads, built once."""
    return _history(canvas.business_date)


def market_expire(canvas: CanvasRun) -> str:
    """Stale proposals of every fund expired at once (the funds' `expire` step then skips)."""
    from apps.proposals.services import expire_proposals

    return f"{len(expire_proposals())} expired"


def market_risk_date_history(canvas: CanvasRun) -> str:
    """The history the funds' what-ifs measure on: the last closed day's."""
    return _history(previous_business_day(canvas.business_date))


MarketStep = Callable[[CanvasRun], str]
MARKET_STEPS: dict[str, list[tuple[str, MarketStep]]] = {
    Pipeline.EOD: [
        ("check_prices", market_check_prices),
        ("factor_history", market_factor_history),
    ],
    Pipeline.PREOPEN: [("expire", market_expire), ("factor_history", market_risk_date_history)],
}


def run_market(canvas: CanvasRun, *, retries_left: int = 0, progress: Progress) -> str:
    """The market step: "ran", "failed" (alarmed; no fund runs) or "transient" (the task
    retries it)."""
    from apps.risk.history import market_version

    canvas.steps = [s for s in canvas.steps if s.get("stage") != "market"]  # a retry starts over
    version = market_version()
    progress(f"market {canvas.business_date:%Y-%m-%d} {canvas.pipeline}: attempt {canvas.attempt}")
    for name, fn in MARKET_STEPS[canvas.pipeline]:
        try:
            _record(canvas, "market", name, partial(fn, canvas), progress)
        except Exception as error:
            if isinstance(error, TRANSIENT) and retries_left > 0:
                log.warning("market step of %s: transient error, to be retried: %s", canvas, error)
                return "transient"
            _fail_market(canvas, name, error)
            return "failed"
    canvas.market_version = version  # the funds reuse the results while it stands
    canvas.save(update_fields=["market_version", "priced", "steps"])
    return "ran"


def _record(
    canvas: CanvasRun, stage: str, name: str, call: Callable[[], str], progress: Progress
) -> None:
    """Run one step, append it to the canvas's steps (saved at once: the page shows it)."""
    clock = time.perf_counter()
    step: dict[str, Any] = {"stage": stage, "name": name, "started": timezone.now().isoformat()}
    try:
        step["detail"] = call()
    except Exception as error:
        step.update(status="FAILED", detail=f"{type(error).__name__}: {error}")
        raise
    else:
        step["status"] = "SUCCESS"
    finally:
        step["seconds"] = round(time.perf_counter() - clock, 3)
        canvas.steps = [*canvas.steps, step]
        canvas.save(update_fields=["steps", "priced"])
        mark = "ok" if step["status"] == "SUCCESS" else "FAILED"
        progress(step_line(f"{stage}:{name}", mark, clock, step["detail"]))


def _fail_market(canvas: CanvasRun, step: str, error: BaseException) -> None:
    canvas.status, canvas.finished_at = CanvasRun.Status.FAILED, timezone.now()
    canvas.error = f"market step {step}: {type(error).__name__}: {error}"
    canvas.save(update_fields=["status", "finished_at", "error"])
    if isinstance(error, StepFailed):
        log.error("pipeline %s failed at the market step: %s", canvas, canvas.error)
    else:
        log.exception("pipeline %s failed at the market step", canvas, exc_info=error)
    _journal(canvas, note=f"No fund ran: {canvas.error}", by=canvas.triggered_by)
    mail_admins(
        f"Pipeline {canvas.get_pipeline_display()} of {canvas.business_date} FAILED at the "
        "market step: no fund ran",
        f"{canvas.error}\n\nFix the cause, then run it again from the pipelines page or with "
        f"`manage.py run_{canvas.pipeline} --date {canvas.business_date:%Y-%m-%d}`.",
        fail_silently=True,
    )


# --- the firm step ---------------------------------------------------------------------------


def firm_consolidated_risk(canvas: CanvasRun, funds: list[Portfolio]) -> str:
    """The risk of one book holding every position of the funds that succeeded (the firm
    view's figures, computed and cached for the 06:00 reader)."""
    if not funds:
        return "skipped: no fund succeeded"
    report = consolidated_risk(funds, canvas.business_date)
    return f"the combined book of {len(funds)} funds; VaR99 {report.var99:,.0f}"


def firm_warm_caches(canvas: CanvasRun, funds: list[Portfolio]) -> str:
    """What spans funds: the firm-level read models (`core.cache.firm_warmer`) and the failed
    run banner every page's frame shows (the canvas's runs moved its version). Each fund's own
    read models were warmed by the last step of its own run."""
    from apps.core.cache import cache_available, warm_firm
    from apps.ops.context_processors import warm_banner

    if not cache_available():
        return "skipped: cache unavailable"
    warmed = [*warm_firm(funds), *(["failed-run banner"] if warm_banner() else [])]
    return f"warmed {', '.join(warmed)} over {len(funds)} funds" if warmed else "nothing to warm"


FirmStep = Callable[[CanvasRun, list[Portfolio]], str]
FIRM_STEPS: dict[str, list[tuple[str, FirmStep]]] = {
    Pipeline.EOD: [("consolidated_risk", firm_consolidated_risk)],
    Pipeline.PREOPEN: [],
}
FIRM_LAST: list[tuple[str, FirmStep]] = [("warm_caches", firm_warm_caches)]


def outcome_of(
    canvas: CanvasRun, results: list[dict[str, Any]] | None
) -> tuple[list[Portfolio], list[dict[str, Any]]]:
    """The funds whose run of the day succeeded, and the others with the reason: their run's
    error, else what their task reported, else that it never finished."""
    funds = list(Portfolio.objects.filter(pk__in=canvas.funds).order_by("code"))
    runs = {
        run.portfolio_id: run
        for run in PipelineRun.objects.filter(
            pipeline=canvas.pipeline, business_date=canvas.business_date, portfolio__in=funds
        )
    }
    reported = {r.get("portfolio"): r for r in results or [] if isinstance(r, dict)}
    succeeded, failed = [], []
    for fund in funds:
        run = runs.get(fund.pk)
        if run is not None and run.status == PipelineRun.Status.SUCCESS:
            succeeded.append(fund)
            continue
        result = reported.get(fund.pk, {})
        if result.get("error"):
            reason = str(result["error"])
        elif run is not None and run.error:
            reason = run.error
        elif run is not None and run.status == PipelineRun.Status.RUNNING:
            reason = "still running, or its process died: its lease's takeover finishes it"
        else:
            reason = "its task did not finish (see the worker's log)"
        failed.append(
            {
                "portfolio": fund.pk,
                "code": fund.code,
                "run": run.pk if run else None,
                "reason": reason,
            }
        )
    return succeeded, failed


def run_firm(
    canvas: CanvasRun,
    *,
    results: list[dict[str, Any]] | None,
    triggered_by: str,
    progress: Progress,
) -> CanvasRun:
    """The firm step over the funds that succeeded; the canvas's outcome recorded, journaled,
    and alarmed when a fund failed. Runs once per attempt (a late duplicate does nothing)."""
    if canvas.status != CanvasRun.Status.RUNNING:
        log.info("firm step of %s already done (%s)", canvas, canvas.status)
        return canvas
    succeeded, failed = outcome_of(canvas, results)
    progress(
        f"firm {canvas.business_date:%Y-%m-%d} {canvas.pipeline}: {len(succeeded)} of "
        f"{len(canvas.funds)} funds succeeded"
    )
    for name, fn in FIRM_STEPS[canvas.pipeline]:
        try:
            _record(canvas, "firm", name, partial(fn, canvas, succeeded), progress)
        except Exception:  # the firm's view of the day is incomplete, the funds' runs stand
            log.exception("firm step %s of %s failed", name, canvas)
    canvas.succeeded = [f.code for f in succeeded]
    canvas.failed = failed
    canvas.status = CanvasRun.Status.PARTIAL if failed else CanvasRun.Status.SUCCESS
    canvas.finished_at = timezone.now()
    canvas.save(update_fields=["succeeded", "failed", "status", "finished_at"])
    named = "; ".join(f"{f['code']}: {f['reason']}" for f in failed)
    _journal(canvas, note=f"Failed: {named}" if failed else "", by=triggered_by)
    if failed:
        _alarm(canvas, failed)
    for name, fn in FIRM_LAST:  # after the outcome is saved: the banner's key has moved
        try:
            _record(canvas, "firm", name, partial(fn, canvas, succeeded), progress)
        except Exception:
            log.exception("firm step %s of %s failed", name, canvas)
    return canvas


def _alarm(canvas: CanvasRun, failed: list[dict[str, Any]]) -> None:
    codes = ", ".join(f["code"] for f in failed)
    log.error(
        "pipeline %s: %d of %d funds failed: %s", canvas, len(failed), len(canvas.funds), codes
    )
    lines = "\n".join(f"- {f['code']}: {f['reason']}" for f in failed)
    mail_admins(
        f"Pipeline {canvas.get_pipeline_display()} of {canvas.business_date}: "
        f"{len(failed)} of {len(canvas.funds)} funds FAILED ({codes})",
        f"The other funds are done and the firm step ran over them.\n\n{lines}\n\n"
        "Each failed fund's run is on the pipelines page: fix the cause and re-run it there.",
        fail_silently=True,
    )


def _journal(canvas: CanvasRun, *, note: str, by: str) -> None:
    limit = settings.TEXT_MAX_LENGTH
    snapshot = {
        "pipeline": canvas.pipeline,
        "stage": "firm",
        "by": by,
        "status": canvas.status,
        "attempt": canvas.attempt,
        "funds": len(canvas.funds),
        "succeeded": len(canvas.succeeded),
        "failed": [f["code"] for f in canvas.failed],
    }
    try:
        with transaction.atomic():
            entry = journal(
                kind=EntryKind.PIPELINE_RUN,
                on_date=canvas.business_date,
                snapshot=snapshot,
                note=note if len(note) <= limit else note[: limit - 1] + "…",
            )
            anchor_journal(canvas, entry)
    except DatabaseError:
        log.exception("could not journal %s", canvas)


def stalled_canvases() -> list[CanvasRun]:
    """Canvases whose market step ran and whose every fund has finished its run of the day
    (none RUNNING), but whose firm step never came: the chord waits for a task that died with
    its host (its message returns only after the broker's visibility timeout). The sweep runs
    their firm step."""
    cutoff = timezone.now() - timedelta(seconds=2 * lease_seconds())
    stalled = []
    for canvas in CanvasRun.objects.filter(
        status=CanvasRun.Status.RUNNING, market_version__isnull=False, started_at__lt=cutoff
    ):
        runs = PipelineRun.objects.filter(
            pipeline=canvas.pipeline, business_date=canvas.business_date, portfolio__in=canvas.funds
        )
        done = runs.exclude(status=PipelineRun.Status.RUNNING).count()
        running = runs.filter(status=PipelineRun.Status.RUNNING).exists()
        if not running and done == len(canvas.funds):
            stalled.append(canvas)
    return stalled


def unresolved_failed_canvases() -> QuerySet[CanvasRun]:
    """Canvases whose market step failed (no fund ran) that no canvas of the same pipeline on
    that day or later has superseded (the funds catch the missed day up), newest first."""
    superseded = CanvasRun.objects.filter(
        pipeline=OuterRef("pipeline"),
        status__in=[CanvasRun.Status.SUCCESS, CanvasRun.Status.PARTIAL],
        business_date__gte=OuterRef("business_date"),
    )
    return (
        CanvasRun.objects.filter(status=CanvasRun.Status.FAILED)
        .exclude(Exists(superseded))
        .order_by("-business_date", "pipeline")
    )
