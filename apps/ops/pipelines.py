"""The EOD (18:00) and pre-open (06:00) pipelines: ordered steps, recorded as PipelineRun and
StepRun, idempotent per (pipeline, business date, portfolio), one at a time (a PostgreSQL
advisory lock), transient errors retried with backoff, a persistent failure stopping the run
and raising the alarm (UI banner, mail_admins, journal)."""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import mail_admins
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.journal.anchors import stamp as anchor_journal
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import business_days_between, is_business_day, next_business_day
from apps.ops.models import PipelineRun, StepRun
from apps.positions.models import Portfolio

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)


class StepFailed(Exception):
    """A step could not do its job with the data it has (not worth retrying)."""


# --- steps ----------------------------------------------------------------------------------


def step_check_prices(portfolio: Portfolio, day: date) -> str:
    from apps.marketdata.models import Fixing, FixingIndex
    from apps.marketdata.queries import effective_prices
    from apps.positions.models import Position

    held = {
        p.instrument_id: p.instrument
        for p in Position.objects.open().filter(portfolio=portfolio).select_related("instrument")
    }
    priced = effective_prices(day, held)
    missing = sorted(i.ticker for pk, i in held.items() if pk not in priced)
    fixings = set(
        Fixing.objects.filter(
            date=day, index__in=[FixingIndex.CDI, FixingIndex.PTAX_SELL]
        ).values_list("index", flat=True)
    )
    missing += sorted({"CDI", "PTAX_SELL"} - fixings)
    if missing:
        raise StepFailed(f"Missing on {day:%Y-%m-%d}: {', '.join(missing)}.")
    return f"{len(held)} instruments priced; CDI and PTAX present."


def step_mtm(portfolio: Portfolio, day: date) -> str:
    from apps.positions.mtm import MtmError, catch_up

    try:
        results = catch_up(portfolio, day)
    except MtmError as error:
        raise StepFailed("; ".join(error.messages)) from error
    return f"marked {len(results)} day(s)" if results else "already marked"


def step_nav(portfolio: Portfolio, day: date) -> str:
    from apps.positions.models import NavRecord

    nav = NavRecord.objects.filter(portfolio=portfolio, date=day).first()
    if nav is None:
        raise StepFailed(f"No NAV for {day:%Y-%m-%d} after the MTM.")
    if nav.nav_close != nav.cash_brl + nav.holdings_value_brl:
        raise StepFailed(f"NAV bridge of {day:%Y-%m-%d} does not close.")
    return f"NAV {nav.nav_close:,.2f}"


def step_attribution(portfolio: Portfolio, day: date) -> str:
    from apps.attribution.services import run_attribution

    snapshot = run_attribution(portfolio, day)
    return f"YTD {snapshot.periods['ytd']['twr']:+.4%}"


def step_risk(portfolio: Portfolio, day: date) -> str:
    from apps.risk.services import run_risk

    try:
        snapshot = run_risk(portfolio, day)
    except ValidationError as error:
        raise StepFailed("; ".join(error.messages)) from error
    breaches = [c for c in snapshot.report.get("limits", []) if c["level"] != "ok"]
    return f"VaR99 {snapshot.report['var99']:,.0f}; {len(breaches)} limit(s) over a level"


def step_expire(portfolio: Portfolio, day: date) -> str:
    from apps.proposals.services import expire_proposals

    return f"{len(expire_proposals())} expired"


def step_proposals(portfolio: Portfolio, day: date) -> str:
    from apps.proposals.rules import generate_proposals

    return f"{len(generate_proposals(portfolio, day))} new"


def step_what_if(portfolio: Portfolio, day: date) -> str:
    from apps.proposals.models import Proposal
    from apps.proposals.services import refresh_what_if

    pending = list(Proposal.objects.pending().filter(portfolio=portfolio, business_date=day))
    for proposal in pending:
        refresh_what_if(proposal)
    return f"{len(pending)} measured"


def step_morning_pack(portfolio: Portfolio, day: date) -> str:
    from apps.briefings.services import generate_morning_pack

    pack = generate_morning_pack(portfolio, day)
    return f"version {pack.version} ({pack.source})"


def step_warm_caches(portfolio: Portfolio, day: date) -> str:
    from apps.ops.cache import warm

    return f"warmed {', '.join(warm(portfolio))}"


Step = Callable[[Portfolio, date], str]
PIPELINES: dict[str, list[tuple[str, Step]]] = {
    PipelineRun.Pipeline.EOD: [
        ("check_prices", step_check_prices),
        ("mtm", step_mtm),
        ("nav", step_nav),
        ("attribution", step_attribution),
        ("risk", step_risk),
        ("warm_caches", step_warm_caches),
    ],
    PipelineRun.Pipeline.PREOPEN: [
        ("expire", step_expire),
        ("proposals", step_proposals),
        ("what_if", step_what_if),
        ("morning_pack", step_morning_pack),
        ("warm_caches", step_warm_caches),
    ],
}


# --- the runner -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # "ran", "already-done", "busy", "not-business-day", "failed"
    run: PipelineRun | None = None


def _lock_key(pipeline: str, portfolio_id: int) -> int:
    digest = hashlib.sha256(f"pipeline:{pipeline}:{portfolio_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _exclusive(pipeline: str, portfolio_id: int) -> Iterator[bool]:
    """A session-level PostgreSQL advisory lock; True when this process holds it."""
    if connection.vendor != "postgresql":
        yield True  # SQLite (embedded default): one process, writes serialised anyway
        return
    key = _lock_key(pipeline, portfolio_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _retry_delays() -> list[float]:
    return list(getattr(settings, "PIPELINE_RETRY_DELAYS", [2.0, 10.0, 30.0]))


def _run_step(step: StepRun, fn: Step, portfolio: Portfolio, day: date) -> None:
    delays = _retry_delays()
    while True:
        step.attempts += 1
        try:
            step.detail = fn(portfolio, day)
        except TRANSIENT as error:
            if step.attempts > len(delays):
                raise
            log.warning("pipeline step %s transient error, retrying: %s", step.name, error)
            time.sleep(delays[step.attempts - 1])
            continue
        return


def run_pipeline(
    pipeline: str,
    portfolio: Portfolio,
    day: date,
    *,
    triggered_by: str = "manual",
    force: bool = False,
) -> Outcome:
    """Run one pipeline for one portfolio and business date (see module docstring)."""
    if not is_business_day(day):
        log.info("%s for %s: %s is not a business day; nothing to do", pipeline, portfolio, day)
        return Outcome("not-business-day")
    with _exclusive(pipeline, portfolio.pk) as held:
        if not held:
            log.info("%s for %s on %s is already running elsewhere", pipeline, portfolio, day)
            return Outcome("busy")
        run, created = PipelineRun.objects.get_or_create(
            pipeline=pipeline,
            business_date=day,
            portfolio=portfolio,
            defaults={"started_at": timezone.now(), "triggered_by": triggered_by},
        )
        if not created:
            if run.status == PipelineRun.Status.SUCCESS and not force:
                return Outcome("already-done", run)
            # A failed run, or one whose worker died (RUNNING, but we hold the lock): again.
            run.attempt += 1
            run.status, run.error, run.finished_at = PipelineRun.Status.RUNNING, "", None
            run.started_at, run.triggered_by = timezone.now(), triggered_by
            run.save()
        return _execute(run, pipeline, portfolio, day)


def _execute(run: PipelineRun, pipeline: str, portfolio: Portfolio, day: date) -> Outcome:
    for order, (name, fn) in enumerate(PIPELINES[pipeline], start=1):
        step = StepRun.objects.create(
            run=run, run_attempt=run.attempt, order=order, name=name, started_at=timezone.now()
        )
        try:
            _run_step(step, fn, portfolio, day)
        except Exception as error:  # the run stops here: later steps never see stale inputs
            step.status, step.finished_at = StepRun.Status.FAILED, timezone.now()
            step.error = f"{type(error).__name__}: {error}"
            step.save()
            _fail(run, step, error)
            return Outcome("failed", run)
        step.status, step.finished_at = StepRun.Status.SUCCESS, timezone.now()
        step.save()
    run.status, run.finished_at = PipelineRun.Status.SUCCESS, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    with transaction.atomic():
        entry = journal(
            kind=EntryKind.PIPELINE_RUN,
            portfolio=portfolio,
            on_date=day,
            snapshot={"pipeline": pipeline, "status": run.status, "attempt": run.attempt},
        )
        anchor_journal(run, entry)  # the chain head, kept outside the journal (14 §4.2)
    return Outcome("ran", run)


def _fail(run: PipelineRun, step: StepRun, error: BaseException) -> None:
    run.status, run.finished_at = PipelineRun.Status.FAILED, timezone.now()
    run.error = f"step {step.name}: {type(error).__name__}: {error}"
    run.save(update_fields=["status", "finished_at", "error"])
    log.error("pipeline %s failed: %s", run, run.error)
    if not isinstance(error, StepFailed):
        log.error("%s", "".join(traceback.format_exception(error)))
    try:
        with transaction.atomic():
            entry = journal(
                kind=EntryKind.PIPELINE_RUN,
                portfolio=run.portfolio,
                on_date=run.business_date,
                snapshot={"pipeline": run.pipeline, "status": run.status, "step": step.name},
                note=run.error,
            )
            anchor_journal(run, entry)
    except DatabaseError:
        log.exception("could not journal the failure of %s", run)
    mail_admins(
        f"Pipeline {run.get_pipeline_display()} FAILED for {run.portfolio} on {run.business_date}",
        f"{run.error}\n\nRe-run it from the pipelines page or with "
        f"`manage.py run_{run.pipeline} --date {run.business_date:%Y-%m-%d}` once fixed.",
        fail_silently=True,
    )


def due_dates(pipeline: str, portfolio: Portfolio, through: date) -> list[date]:
    """Business days not yet run successfully, oldest first (EOD catches up; pre-open only
    prepares the day it is for)."""
    if pipeline == PipelineRun.Pipeline.PREOPEN:
        return [through] if is_business_day(through) else []
    from apps.positions.mtm import first_mark_date

    done = (
        PipelineRun.objects.filter(
            pipeline=pipeline, portfolio=portfolio, status=PipelineRun.Status.SUCCESS
        )
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )
    start = next_business_day(done) if done else first_mark_date(portfolio)
    return business_days_between(start, through)


def run_due(
    pipeline: str, through: date, *, portfolio: Portfolio | None = None, triggered_by: str = "beat"
) -> list[Outcome]:
    """Every missed business day in order, for every active portfolio (or one); stops a
    portfolio's catch-up at its first failure."""
    outcomes: list[Outcome] = []
    portfolios = [portfolio] if portfolio else list(Portfolio.objects.active())
    for fund in portfolios:
        for day in due_dates(pipeline, fund, through):
            outcome = run_pipeline(pipeline, fund, day, triggered_by=triggered_by)
            outcomes.append(outcome)
            if outcome.status in ("failed", "busy"):
                break
    return outcomes


def latest_failures() -> list[PipelineRun]:
    """Failed runs not superseded by a later success of the same pipeline and portfolio."""
    failed = PipelineRun.objects.filter(status=PipelineRun.Status.FAILED).select_related(
        "portfolio"
    )
    out = []
    for run in failed:
        later = PipelineRun.objects.filter(
            pipeline=run.pipeline,
            portfolio=run.portfolio,
            status=PipelineRun.Status.SUCCESS,
            business_date__gte=run.business_date,
        ).exists()
        if not later:
            out.append(run)
    return out
