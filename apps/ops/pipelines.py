"""The EOD (18:00) and pre-open (06:00) pipelines: ordered steps, recorded as PipelineRun and
StepRun, idempotent per (pipeline, business date, portfolio), one at a time (a lease row with a
heartbeat, PipelineLease: it holds across processes on PostgreSQL and SQLite, and a run whose
process died is marked ABANDONED and taken over), transient errors retried by the Celery task
(`self.retry`, with backoff), a persistent failure stopping the run and raising the alarm (UI
banner, mail_admins, journal)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import mail_admins
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.core.cache import without_refresh
from apps.journal.anchors import stamp as anchor_journal
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import business_days_between, is_business_day, next_business_day
from apps.ops.models import CanvasRun, PipelineLease, PipelineRun, StepRun
from apps.positions.models import Portfolio

if TYPE_CHECKING:
    from apps.marketdata.models import Instrument

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


def held_by(portfolio_ids: list[int], day: date) -> dict[int, set[int]]:
    """Per portfolio, the instruments it held at the close of `day` or traded that day (a
    closing trade is marked at the day's settlement too): the replay of its effective trades,
    so a historical day never asks for instruments bought later. One query for any number."""
    from django.db.models import Case, DecimalField, F, Sum, When

    from apps.positions.models import Side, Trade

    signed = Case(
        When(side=Side.BUY, then=F("quantity")),
        default=-F("quantity"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    rows = (
        Trade.objects.effective()
        .filter(portfolio_id__in=portfolio_ids, trade_date__lte=day)
        .values("portfolio_id", "position_id", "instrument_id")
        .annotate(net=Sum(signed), today=Sum(Case(When(trade_date=day, then=1), default=0)))
        .filter(~Q(net=0) | Q(today__gt=0))
    )
    held: dict[int, set[int]] = {pk: set() for pk in portfolio_ids}
    for row in rows:
        held[row["portfolio_id"]].add(row["instrument_id"])
    return held


def held_on(portfolio: Portfolio, day: date) -> dict[int, Instrument]:
    """The instruments `portfolio` held at the close of `day`, or traded that day."""
    from apps.marketdata.models import Instrument

    ids = held_by([portfolio.pk], day)[portfolio.pk]
    return {i.pk: i for i in Instrument.objects.filter(pk__in=ids)}


def market_priced(day: date) -> set[int] | None:
    """The instruments the EOD market step of `day` found priced, while the market data have
    not changed since (else None: the caller checks for itself). The market step fails the
    whole canvas without the day's CDI and PTAX, so a result here means they are present."""
    from apps.core.cache import versions

    priced = (
        CanvasRun.objects.filter(
            pipeline=PipelineRun.Pipeline.EOD,
            business_date=day,
            market_version=versions(None)[0],
            priced__isnull=False,
        )
        .values_list("priced", flat=True)
        .first()
    )
    return None if priced is None else set(priced)


def step_check_prices(portfolio: Portfolio, day: date) -> str:
    from apps.marketdata.models import Fixing, FixingIndex
    from apps.marketdata.queries import effective_prices

    held = held_on(portfolio, day)
    checked = market_priced(day)
    if checked is not None:
        missing = sorted(i.ticker for pk, i in held.items() if pk not in checked)
        if missing:
            raise StepFailed(f"Missing on {day:%Y-%m-%d}: {', '.join(missing)}.")
        return f"{len(held)} instruments priced; CDI and PTAX present (the market step's check)."
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
    from apps.risk.history import is_shared
    from apps.risk.services import run_risk

    shared = is_shared(day)
    try:
        snapshot = run_risk(portfolio, day)
    except ValidationError as error:
        raise StepFailed("; ".join(error.messages)) from error
    breaches = [c for c in snapshot.report.get("limits", []) if c["level"] != "ok"]
    origin = "the market step's" if shared else "built for this run"
    return (
        f"VaR99 {snapshot.report['var99']:,.0f}; {len(breaches)} limit(s) over a level; "
        f"factor history {origin}"
    )


def step_compliance(portfolio: Portfolio, day: date) -> str:
    """Every compliance rule on the day's book: a breach opens (or follows) its alert, it
    does not fail the run (the fund is marked; it is out of its limits)."""
    from apps.compliance.models import Breach, Status
    from apps.compliance.services import run_compliance

    try:
        results = run_compliance(portfolio, day)
    except ValidationError as error:
        raise StepFailed("; ".join(error.messages)) from error
    if not results:
        return "no compliance rule"
    count = {s: sum(r.status == s for r in results) for s in (Status.BREACH, Status.WARN)}
    still = Breach.objects.filter(portfolio=portfolio).exclude(state=Breach.State.CURED).count()
    return (
        f"{len(results)} rules: {count[Status.BREACH]} hard breach(es), "
        f"{count[Status.WARN]} soft; {still} open breach(es)"
    )


def step_expire(portfolio: Portfolio, day: date) -> str:
    from apps.proposals.services import expire_proposals

    done = CanvasRun.objects.filter(
        pipeline=PipelineRun.Pipeline.PREOPEN, business_date=day, market_version__isnull=False
    ).exists()
    if done:  # expire_proposals covers every fund: the market step ran it once for all
        return "done once for every fund by the market step"
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
    from apps.core.cache import cache_available, warm

    if not cache_available():  # the read models would be computed and dropped: say so
        return "skipped: cache unavailable"
    return f"warmed {', '.join(warm(portfolio))}"


Step = Callable[[Portfolio, date], str]
PIPELINES: dict[str, list[tuple[str, Step]]] = {
    PipelineRun.Pipeline.EOD: [
        ("check_prices", step_check_prices),
        ("mtm", step_mtm),
        ("nav", step_nav),
        ("attribution", step_attribution),
        ("risk", step_risk),
        ("compliance", step_compliance),
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
    # "ran", "already-done", "busy", "not-business-day", "failed", "transient" (a transient
    # error with retries left: the Celery task retries it)
    status: str
    run: PipelineRun | None = None


Progress = Callable[[str], None]


def _quiet(line: str) -> None:
    return None


def lease_seconds() -> float:
    return float(getattr(settings, "PIPELINE_LEASE_SECONDS", 120))


class Lease:
    """This process's hold on PipelineLease(pipeline, portfolio); see the model. Taken with one
    conditional UPDATE (atomic on PostgreSQL and SQLite), renewed by a heartbeat."""

    def __init__(self, pipeline: str, portfolio: Portfolio, day: date) -> None:
        self.pipeline, self.portfolio, self.day = pipeline, portfolio, day
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.run: PipelineRun | None = None
        self.pk = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        row, _ = PipelineLease.objects.get_or_create(
            pipeline=self.pipeline, portfolio=self.portfolio
        )
        now = timezone.now()
        taken = (
            PipelineLease.objects.filter(pk=row.pk)
            .filter(Q(holder="") | Q(expires_at__lt=now) | Q(expires_at__isnull=True))
            .update(holder=self.holder, expires_at=self._expiry(), through=self.day, run=None)
        )
        if not taken:
            return False
        self.pk = row.pk
        _abandon(self.pipeline, self.portfolio, taken_by=self.holder)
        return True

    def _expiry(self) -> datetime:
        return timezone.now() + timedelta(seconds=lease_seconds())

    def attach(self, run: PipelineRun) -> None:
        self.run = run
        PipelineLease.objects.filter(pk=self.pk, holder=self.holder).update(run=run)
        self.beat()
        # In autocommit (a worker, a command), a thread renews the lease while a long step
        # runs. Inside a transaction (a test, an atomic caller) the main thread's own row
        # locks would block it, so only the beats between steps renew the lease there.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat_forever, daemon=True)
            self._thread.start()

    def beat(self) -> bool:
        """Renew the lease and stamp the run's heartbeat (one sign of life); False when the
        lease is no longer ours (it expired and another process took the run over)."""
        held = PipelineLease.objects.filter(pk=self.pk, holder=self.holder).update(
            expires_at=self._expiry()
        )
        if held and self.run is not None:
            PipelineRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())
        return bool(held)

    def _beat_forever(self) -> None:
        try:
            while not self._stop.wait(lease_seconds() / 3):
                try:
                    self.beat()
                except DatabaseError as error:  # e.g. SQLite busy: the next beat tries again
                    log.warning("pipeline lease heartbeat failed: %s", error)
        finally:
            connection.close()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        PipelineLease.objects.filter(pk=self.pk, holder=self.holder).update(
            holder="", expires_at=None, run=None
        )


def _abandon(pipeline: str, portfolio: Portfolio, *, taken_by: str) -> None:
    """We hold the lease: a run still RUNNING belongs to a process that died. Mark it (and its
    unfinished steps) ABANDONED; the caller then runs the day again (a new attempt)."""
    now = timezone.now()
    for run in PipelineRun.objects.filter(
        pipeline=pipeline, portfolio=portfolio, status=PipelineRun.Status.RUNNING
    ):
        seen = run.heartbeat_at or run.started_at
        run.status, run.finished_at = PipelineRun.Status.ABANDONED, now
        run.error = f"abandoned: no heartbeat since {seen:%Y-%m-%d %H:%M:%S %Z}; taken over"
        run.save(update_fields=["status", "finished_at", "error"])
        run.steps.filter(status=StepRun.Status.RUNNING).update(
            status=StepRun.Status.ABANDONED, finished_at=now, error="its process died"
        )
        log.error("pipeline %s abandoned (%s); taken over by %s", run, run.error, taken_by)


@contextmanager
def _exclusive(pipeline: str, portfolio: Portfolio, day: date) -> Iterator[Lease | None]:
    """The lease, or None when a live process holds it."""
    lease = Lease(pipeline, portfolio, day)
    if not lease.acquire():
        yield None
        return
    try:
        yield lease
    finally:
        lease.release()


def retry_delays() -> list[float]:
    return list(getattr(settings, "PIPELINE_RETRY_DELAYS", [2.0, 10.0, 30.0]))


class Transient(Exception):
    """A step hit a transient error and the caller (a Celery task) will retry the run."""


def run_pipeline(
    pipeline: str,
    portfolio: Portfolio,
    day: date,
    *,
    triggered_by: str = "manual",
    force: bool = False,
    retries_left: int = 0,
    progress: Progress = _quiet,
) -> Outcome:
    """Run one pipeline for one portfolio and business date (see module docstring).

    A transient error (database or network) with `retries_left` ends the run as "transient",
    quietly, for the Celery task to retry it (`self.retry`, with backoff); without retries
    left it fails the run and raises the alarm."""
    if not is_business_day(day):
        log.info("%s for %s: %s is not a business day; nothing to do", pipeline, portfolio, day)
        return Outcome("not-business-day")
    with _exclusive(pipeline, portfolio, day) as lease:
        if lease is None:
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
            # A failed or abandoned run (we hold the lease: nobody else runs it): again.
            run.attempt += 1
            run.status, run.error, run.finished_at = PipelineRun.Status.RUNNING, "", None
            run.started_at, run.triggered_by = timezone.now(), triggered_by
            run.save()
        lease.attach(run)
        return _execute(run, lease, retries_left=retries_left, progress=progress)


def _execute(run: PipelineRun, lease: Lease, *, retries_left: int, progress: Progress) -> Outcome:
    pipeline, portfolio, day = run.pipeline, run.portfolio, run.business_date
    steps = PIPELINES[pipeline]
    progress(f"{portfolio.code} {day:%Y-%m-%d} {pipeline}: attempt {run.attempt}")
    for order, (name, fn) in enumerate(steps, start=1):
        if not lease.beat():  # we were presumed dead and taken over: the new holder runs it
            log.error("pipeline %s lost its lease before step %s; stopping", run, name)
            return Outcome("busy", run)
        step = StepRun.objects.create(
            run=run, run_attempt=run.attempt, order=order, name=name, started_at=timezone.now()
        )
        step.attempts = 1
        clock = time.perf_counter()
        try:
            # The run's writes ask for no write-through refresh: its last step warms the
            # fund's read models once (a refresh task per write would rebuild them mid-run,
            # on a worker the EOD needs). A run that stops early leaves them to the next read.
            with without_refresh():
                step.detail = fn(portfolio, day)
        except Exception as error:  # the run stops here: later steps never see stale inputs
            step.status, step.finished_at = StepRun.Status.FAILED, timezone.now()
            step.error = f"{type(error).__name__}: {error}"
            step.save()
            progress(step_line(f"{order}/{len(steps)} {name}", "FAILED", clock, step.error))
            if isinstance(error, TRANSIENT) and retries_left > 0:
                _fail_transient(run, step)
                return Outcome("transient", run)
            _fail(run, step, error)
            return Outcome("failed", run)
        step.status, step.finished_at = StepRun.Status.SUCCESS, timezone.now()
        step.save()
        progress(step_line(f"{order}/{len(steps)} {name}", "ok", clock, step.detail))
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


def step_line(label: str, mark: str, clock: float, text: str) -> str:
    """One progress line: the step (with its order), ok or FAILED, seconds since `clock`."""
    return f"  {label:<17} {mark:<6} {time.perf_counter() - clock:7.2f} s  {text}"


def _fail_transient(run: PipelineRun, step: StepRun) -> None:
    run.status, run.finished_at = PipelineRun.Status.FAILED, timezone.now()
    run.error = f"step {step.name}: {step.error} (transient; the task retries it)"
    run.save(update_fields=["status", "finished_at", "error"])
    log.warning("pipeline %s transient error, to be retried: %s", run, step.error)


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


def eod_refusal(day: date) -> str | None:
    """Why an EOD for `day` must not start now, or None. The market of today closes at
    EOD_NOT_BEFORE (local time) and B3 publishes the settlements after it: an EOD before that
    would fail at check_prices and raise a false alarm on every user's pages."""
    from apps.marketdata.models import SettlementPrice

    now = timezone.localtime()
    if day > now.date():
        return f"{day:%d/%m/%Y} is in the future: its market has not opened yet."
    if day < now.date():
        return None
    close: time_of_day = settings.EOD_NOT_BEFORE
    if now.time() < close:
        return (
            f"The market of {day:%d/%m/%Y} has not closed yet: its EOD runs from "
            f"{close:%H:%M} (EOD_NOT_BEFORE), once B3 has published the settlements."
        )
    if not SettlementPrice.objects.filter(date=day).exists():
        return (
            f"There is no B3 settlement price for {day:%d/%m/%Y} yet: import the day's "
            "settlements (the market page), then run the EOD."
        )
    return None


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
    pipeline: str,
    through: date,
    *,
    portfolio: Portfolio | None = None,
    triggered_by: str = "beat",
    retries_left: int = 0,
    progress: Progress = _quiet,
) -> list[Outcome]:
    """Every missed business day in order, for every active portfolio (or one); stops a
    portfolio's catch-up at its first failure (or busy, or transient error)."""
    outcomes: list[Outcome] = []
    portfolios = [portfolio] if portfolio else list(Portfolio.objects.active())
    for fund in portfolios:
        for day in due_dates(pipeline, fund, through):
            outcome = run_pipeline(
                pipeline,
                fund,
                day,
                triggered_by=triggered_by,
                retries_left=retries_left,
                progress=progress,
            )
            outcomes.append(outcome)
            if outcome.status in ("failed", "busy", "transient"):
                break
    return outcomes


def stale_runs() -> list[PipelineRun]:
    """RUNNING runs whose process stopped renewing the lease (killed, hung): overdue."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    running = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).select_related(
        "portfolio"
    )
    return [r for r in running if (r.heartbeat_at or r.started_at) < cutoff]


def sweep(*, retries_left: int = 0) -> list[Outcome]:
    """Take over every run whose process died: its day first (taking the lease marks it
    ABANDONED; it runs again even if older than the last success, as a forced re-run that was
    killed would be), then the rest of what the dead holder was catching up through."""
    outcomes: list[Outcome] = []
    for run in stale_runs():
        held = PipelineLease.objects.filter(pipeline=run.pipeline, portfolio=run.portfolio)
        ends = [d for d in held.values_list("through", flat=True) if d is not None]
        through = max([run.business_date, *ends])
        log.warning("sweep: %s has no heartbeat; taking it over through %s", run, through)
        options: dict[str, Any] = {"triggered_by": "sweep", "retries_left": retries_left}
        outcome = run_pipeline(run.pipeline, run.portfolio, run.business_date, **options)
        outcomes.append(outcome)
        if outcome.status == "ran" and through > run.business_date:
            outcomes += run_due(run.pipeline, through, portfolio=run.portfolio, **options)
    return outcomes


def unresolved_failed_runs() -> QuerySet[PipelineRun]:
    """Failed runs no later success of the same pipeline and portfolio has superseded, newest
    first: what the pipelines page lists and every page's failed-run banner shows."""
    superseded = PipelineRun.objects.filter(
        pipeline=OuterRef("pipeline"),
        portfolio=OuterRef("portfolio"),
        status=PipelineRun.Status.SUCCESS,
        business_date__gte=OuterRef("business_date"),
    )
    return (
        PipelineRun.objects.filter(status=PipelineRun.Status.FAILED)
        .exclude(Exists(superseded))
        .select_related("portfolio")
        .order_by("-business_date", "pipeline", "portfolio__code")
    )
