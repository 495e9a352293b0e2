"""The checks behind `manage.py verify_system`: every part of the PMS, PASS / WARN / FAIL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass
class Result:
    component: str
    check: str
    status: str
    detail: str
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Check = Callable[[], tuple[str, str]]
REGISTRY: list[tuple[str, str, Check]] = []
# The checks whose failure means the data are wrong, not merely old or the system not yet
# running: the only ones that still FAIL after a restore (`--after-restore`, restore.sh).
INTEGRITY: set[tuple[str, str]] = set()


def check(component: str, name: str, *, integrity: bool = False) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        REGISTRY.append((component, name, fn))
        if integrity:
            INTEGRITY.add((component, name))
        return fn

    return register


def run_checks(only: str | None = None, *, after_restore: bool = False) -> Iterator[Result]:
    for component, name, fn in REGISTRY:
        if only and component != only:
            continue
        started = time.perf_counter()
        try:
            status, detail = fn()
        except Exception as error:  # a check that crashes is a failed check, not a crash
            status, detail = FAIL, f"{type(error).__name__}: {error}"
        if after_restore and status == FAIL and (component, name) not in INTEGRITY:
            status, detail = WARN, f"after a restore, not an integrity check: {detail}"
        yield Result(component, name, status, detail, (time.perf_counter() - started) * 1000)


def components() -> list[str]:
    return list(dict.fromkeys(c for c, _, _ in REGISTRY))


def _previous_business_day() -> date:
    from apps.marketdata.calendar import previous_business_day

    return previous_business_day(timezone.localdate())


# --- settings and infrastructure -------------------------------------------------------------


@check("settings", "deploy checks")
def _deploy() -> tuple[str, str]:
    if settings.DEBUG:
        return WARN, "DEBUG is on: this is a development configuration."
    # The checks `manage.py check --deploy --fail-level WARNING` runs. (Through call_command the
    # issues travel in the SystemCheckError, not on stdout: the detail came out empty.)
    from django.core import checks as system_checks

    issues = [
        issue
        for issue in system_checks.run_checks(include_deployment_checks=True)
        if issue.level >= system_checks.WARNING and not issue.is_silenced()
    ]
    if issues:  # advice for this deployment, not a broken system: WARN, each by its id
        ids = ", ".join(sorted(dict.fromkeys(issue.id or "?" for issue in issues)))
        first = " ".join(str(issues[0].msg).split())
        return WARN, f"check --deploy: {len(issues)} warning(s): {ids} — {first}"[:500]
    return PASS, "check --deploy is clean"


@check("database", "connection", integrity=True)
def _database() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return PASS, f"{connection.vendor} {connection.settings_dict.get('NAME')}"


@check("database", "migrations", integrity=True)
def _migrations() -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return FAIL, f"{len(plan)} unapplied migration(s): {names} — run manage.py migrate"
    return PASS, "all migrations applied"


@check("cache", "redis round trip")
def _redis() -> tuple[str, str]:
    from django.core.cache import caches

    if not getattr(settings, "REDIS_URL", ""):
        return WARN, "REDIS_URL unset: local-memory cache (embedded default)"
    client = caches[settings.READ_MODEL_CACHE]
    key, value = f"verify:{uuid.uuid4().hex}", uuid.uuid4().hex
    client.set(key, value, 10)
    if client.get(key) != value:
        return FAIL, "Redis answered but did not return the value written"
    client.delete(key)
    return PASS, "set/get/delete OK"


@check("cache", "read-model cache")
def _read_cache() -> tuple[str, str]:
    from apps.core.cache import MISSING, breaker, cache_get, cache_set

    if breaker.is_open:
        return WARN, "circuit breaker open: pages are served uncached"
    key = f"verify:rm:{uuid.uuid4().hex}"
    cache_set(key, 42, 10)
    if cache_get(key) is MISSING:
        return FAIL, "the read-model cache did not keep a value"
    return PASS, "round trip OK"


@check("celery", "broker")
def _broker() -> tuple[str, str]:
    if not settings.CELERY_BROKER_URL:
        return WARN, "CELERY_BROKER_URL unset: tasks run eagerly in-process"
    from pms_project.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return PASS, "broker reachable"


@check("celery", "workers")
def _workers() -> tuple[str, str]:
    if not settings.CELERY_BROKER_URL:
        return WARN, "no broker: no workers needed in the embedded default"
    from pms_project.celery import app

    replies = app.control.inspect(timeout=1.0).ping() or {}
    if not replies:
        return FAIL, "no Celery worker answered a ping"
    return PASS, f"{len(replies)} worker(s): {', '.join(sorted(replies))}"


@check("celery", "beat schedule")
def _beat() -> tuple[str, str]:
    from django_celery_beat.models import PeriodicTask

    wanted = {
        "pipelines.run_eod",
        "pipelines.run_preopen",
        "pipelines.sweep",
        "cache.sweep_refreshes",
        "marks.sweep_remarks",
        "monitoring.verify_journal",
    }
    enabled = set(
        PeriodicTask.objects.filter(task__in=wanted, enabled=True).values_list("task", flat=True)
    )
    if enabled == wanted:
        every = settings.PIPELINE_SWEEP_MINUTES
        return PASS, (
            f"EOD 18:00, pre-open 06:00, the dead-run sweep (every {every} min), the "
            f"read-model refresh and re-mark sweeps (every {settings.REFRESH_SWEEP_SECONDS} s) "
            "and the "
            f"journal's verification (every {settings.JOURNAL_VERIFY_MINUTES} min)"
        )
    missing = ", ".join(sorted(wanted - enabled))
    return WARN, f"not in the beat database yet: {missing} (beat installs them when it starts)"


# --- pipelines and data ------------------------------------------------------------------------


@check("pipelines", "last EOD and pre-open")
def _pipelines() -> tuple[str, str]:
    from apps.ops.models import CanvasRun, PipelineRun
    from apps.ops.pipelines import stale_runs
    from apps.ops.stages import unresolved_failed_canvases
    from apps.positions.models import Portfolio

    expected_eod = _previous_business_day()
    problems, fine = [], []
    # A run whose process died (no heartbeat within the lease) until the sweep takes it over,
    # and one the takeover could not finish: both FAIL, whatever the latest run says.
    for stale in stale_runs():
        seen = stale.heartbeat_at or stale.started_at
        problems.append(
            (
                FAIL,
                f"{stale.portfolio.code} {stale.pipeline} {stale.business_date} RUNNING but "
                f"overdue: no heartbeat since {seen:%Y-%m-%d %H:%M:%S}",
            )
        )
    # Alive (it renews its lease) but running longer than any task may: hung.
    too_long = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    hung = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING, started_at__lt=too_long)
    for slow in hung.select_related("portfolio").exclude(pk__in=[r.pk for r in stale_runs()]):
        problems.append(
            (
                FAIL,
                f"{slow.portfolio.code} {slow.pipeline} {slow.business_date} RUNNING but overdue: "
                f"started {slow.started_at:%Y-%m-%d %H:%M:%S}, past the task time limit",
            )
        )
    # The firm's canvases: a market step that failed (no fund ran that day) until a later
    # canvas succeeds, and a firm step that never came.
    for canvas in unresolved_failed_canvases():
        problems.append(
            (FAIL, f"{canvas.pipeline} {canvas.business_date} no fund ran: {canvas.error[:160]}")
        )
    stuck = CanvasRun.objects.filter(status=CanvasRun.Status.RUNNING, started_at__lt=too_long)
    for canvas in stuck:
        problems.append(
            (
                FAIL,
                f"{canvas.pipeline} {canvas.business_date} firm run RUNNING past the task time "
                f"limit: its firm step never ran (started {canvas.started_at:%Y-%m-%d %H:%M:%S})",
            )
        )
    abandoned = PipelineRun.objects.filter(status=PipelineRun.Status.ABANDONED)
    for dead in abandoned.select_related("portfolio"):
        problems.append(
            (
                FAIL,
                f"{dead.portfolio.code} {dead.pipeline} {dead.business_date} ABANDONED: "
                f"{dead.error}",
            )
        )
    for portfolio in Portfolio.objects.active():
        for pipeline in (PipelineRun.Pipeline.EOD, PipelineRun.Pipeline.PREOPEN):
            run = (
                PipelineRun.objects.filter(pipeline=pipeline, portfolio=portfolio)
                .order_by("-business_date")
                .first()
            )
            label = f"{portfolio.code} {pipeline}"
            if run is None:
                problems.append((WARN, f"{label}: never run"))
            elif run.status == PipelineRun.Status.FAILED:
                problems.append((FAIL, f"{label} {run.business_date} FAILED: {run.error[:120]}"))
            elif pipeline == PipelineRun.Pipeline.EOD and run.business_date < expected_eod:
                problems.append((WARN, f"{label}: last run {run.business_date}"))
            else:
                fine.append(f"{label} {run.business_date} {run.status}")
    if not problems:
        return PASS, "; ".join(fine) or "no active portfolio"
    worst = FAIL if any(s == FAIL for s, _ in problems) else WARN
    return worst, "; ".join(d for _, d in problems)


@check("market data", "settlement freshness")
def _freshness() -> tuple[str, str]:
    from apps.ops.monitoring import missing_market_data

    found = missing_market_data(_previous_business_day())
    missing = found.prices + [f"{index} fixing" for index in found.fixings]
    if missing:
        listed = ", ".join(missing[:12]) + (" …" if len(missing) > 12 else "")
        return FAIL, f"stale or missing on {found.day:%Y-%m-%d}: {listed}"
    return PASS, f"{found.wanted} instruments and CDI/PTAX priced for {found.day:%Y-%m-%d}"


@check("market data", "history depth")
def _history() -> tuple[str, str]:
    from apps.marketdata.models import SettlementPrice

    days = SettlementPrice.objects.values("date").distinct().count()
    if days >= 252:
        return PASS, f"{days} priced days"
    return WARN, f"only {days} priced days (VaR wants 252)"


@check("book", "journal chain", integrity=True)
def _journal() -> tuple[str, str]:
    """Also kept for the metrics (the alert on a broken chain reads the latest result)."""
    from apps.ops.monitoring import verify_journal_chain

    result = verify_journal_chain()
    return (PASS if result.ok else FAIL), result.detail


@check("book", "positions = replay of trades", integrity=True)
def _replay() -> tuple[str, str]:
    from apps.positions.models import Portfolio
    from apps.positions.services import replay

    problems = []
    for portfolio in Portfolio.objects.all():
        for diff in replay(portfolio):
            problems.append(
                f"{diff.position} {diff.field}: stored {diff.stored}, trades {diff.replayed}"
            )
    if problems:
        return FAIL, f"{len(problems)} difference(s): " + "; ".join(problems[:5])
    return PASS, "every position equals the replay of its trades"


@check("book", "NAV bridge", integrity=True)
def _nav() -> tuple[str, str]:
    from django.db.models import F

    from apps.positions.models import NavRecord

    navs = NavRecord.objects.all()
    bad = (
        navs.exclude(
            nav_close=F("nav_open")
            + F("pnl_brl")
            + F("cash_interest_brl")
            + F("fees_brl")
            + F("flows_brl")
        ).count()
        if connection.vendor == "postgresql"
        else 0
    )
    rows = list(
        navs.order_by("portfolio_id", "date").values_list(
            "portfolio_id", "date", "nav_open", "nav_close", "cash_brl", "holdings_value_brl"
        )
    )
    broken_links = 0
    for before, after in pairwise(rows):
        if before[0] == after[0] and after[2] != before[3]:
            broken_links += 1
    unbalanced = sum(1 for r in rows if r[3] != r[4] + r[5])
    if bad or broken_links or unbalanced:
        return FAIL, (
            f"{bad} day(s) whose bridge does not close, {broken_links} opening NAV(s) that are "
            f"not the previous close, {unbalanced} NAV(s) ≠ cash + holdings"
        )
    return PASS, f"{len(rows):,} NAV days close to the cent"


@check("book", "marks newer than their prices")
def _marks_vs_prices() -> tuple[str, str]:
    """A price or fixing written for a day after its marks were computed (an override, a late
    import) leaves the marks old until the re-mark runs: FAIL while they are, naming the
    funds, the first day and whether a re-mark is queued (and how it last failed)."""
    from apps.ops.remarks import stale_marks
    from apps.positions.models import RemarkRequest

    stale = stale_marks()
    queued = {r.portfolio.code: r for r in RemarkRequest.objects.select_related("portfolio")}
    if not stale:
        if queued:
            return WARN, f"{len(queued)} re-mark(s) queued: " + ", ".join(sorted(queued))
        return PASS, "every marked day is newer than its prices and fixings"
    parts = []
    for code, first, days in stale[:8]:
        request = queued.get(code)
        state = "no re-mark queued"
        if request is not None:
            state = f"re-mark queued {request.requested_at:%Y-%m-%d %H:%M}"
            if request.attempts:
                state += f", {request.attempts} failed: {request.last_error[:120]}"
        parts.append(f"{code} from {first:%Y-%m-%d} ({days} day(s); {state})")
    return FAIL, "marks older than their prices: " + "; ".join(parts)


# --- integrations -----------------------------------------------------------------------------


@check("integrations", "LLM key")
def _llm() -> tuple[str, str]:
    if not settings.ANTHROPIC_API_KEY:
        return WARN, "ANTHROPIC_API_KEY unset: morning packs use the template narrative"
    return PASS, f"key set; model {settings.ANTHROPIC_MODEL}"


def _newest_backup() -> Path | None:
    from apps.ops.monitoring import newest_backup

    return newest_backup()


@check("backups", "last backup age")
def _backup() -> tuple[str, str]:
    newest = _newest_backup()
    if newest is None:
        return WARN, f"no backup in {settings.BACKUP_DIR} (scripts/backup.sh)"
    from apps.ops.monitoring import backup_finished_at

    age = datetime.now().timestamp() - backup_finished_at(newest)
    hours = age / 3600
    if hours > 26:
        return WARN, f"newest backup {newest.name} is {hours:.0f} h old"
    return PASS, f"{newest.name}, {hours:.1f} h old"


@check("backups", "journal head in newest backup")
def _backup_anchor() -> tuple[str, str]:
    """The newest backup's meta.json holds the journal head it saw: the journal must still
    hold that entry (entries deleted from the end since then are named). Not an integrity
    check: restoring an older backup than the newest one loses those entries knowingly."""
    from apps.journal.anchors import check as check_anchor
    from apps.journal.anchors import from_backup

    newest = _newest_backup()
    if newest is None:
        return WARN, f"no backup in {settings.BACKUP_DIR} to check the journal against"
    if not (newest / "meta.json").exists():
        return WARN, f"{newest.name} has no meta.json"
    anchor = from_backup(newest)
    if anchor is None:
        return WARN, f"{newest.name} records no journal head (an older backup or empty journal)"
    broken = check_anchor(anchor)
    if broken is not None:
        return FAIL, broken.reason
    return PASS, f"{newest.name} anchors #{anchor.seq}: in the chain"


# --- the smoke workflow ------------------------------------------------------------------------


class _Rollback(Exception):
    pass


@check("workflow", "smoke (rolled back)")
def _smoke() -> tuple[str, str]:
    """open → MTM → proposal approved → another rejected with a note → close → journal."""
    detail: list[str] = []
    try:
        with transaction.atomic():
            detail = _smoke_steps()
            raise _Rollback
    except _Rollback:
        pass
    return PASS, " → ".join(detail) + " (rolled back)"


def _smoke_steps() -> list[str]:
    from django.contrib.auth.models import Group, User

    from apps.journal.models import Entry, EntryKind
    from apps.marketdata.models import InstrumentKind, SettlementPrice
    from apps.positions.models import Portfolio, Strategy
    from apps.positions.mtm import run_mtm
    from apps.positions.services import TradeTicket, record_trade
    from apps.proposals.forms import default_business_date
    from apps.proposals.services import Terms, approve_proposal, create_proposal, reject_proposal

    # Today's session while it is open, else the next one: after 18:00 a proposal for today
    # would be born expired and the approval refused.
    trading_day = default_business_date()
    # The front WDO still trading then: on an expiry day the latest settlements also include
    # the contract that expires, and a proposal on it would be refused.
    price = (
        SettlementPrice.objects.filter(
            instrument__kind=InstrumentKind.WDO,
            instrument__active=True,
            instrument__maturity__gt=trading_day,
        )
        .select_related("instrument")
        .order_by("-date", "instrument__maturity")
        .first()
    )
    if price is None:
        raise RuntimeError(
            f"no settlement price of a WDO contract trading on {trading_day:%Y-%m-%d} "
            "to run the smoke workflow on"
        )
    day, instrument = price.date, price.instrument
    tag = uuid.uuid4().hex[:8]
    manager = User.objects.create_user(f"smoke-pm-{tag}")
    approver = User.objects.create_user(f"smoke-cio-{tag}")
    manager.groups.add(Group.objects.get(name="manager"))
    approver.groups.add(Group.objects.get(name="approver"))
    fund = Portfolio.objects.create(
        code=f"smoke-{tag}", name="Smoke", inception_date=day, initial_nav=Decimal("1000000")
    )
    book = Strategy.objects.create(portfolio=fund, code="smoke", name="Smoke")
    first = Entry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    def trade(side: str) -> None:
        record_trade(
            TradeTicket(fund, book, instrument, side, Decimal("1"), day, price=price.price),
            by=manager,
        )

    trade("BUY")
    steps = [f"opened 1 {instrument.ticker}"]
    run_mtm(fund, day, by=manager)
    steps.append(f"MTM {day:%Y-%m-%d}")
    proposal = create_proposal(
        portfolio=fund,
        strategy=book,
        instrument=instrument,
        terms=Terms("BUY", Decimal("1")),
        rationale="smoke",
        business_date=trading_day,
        by=manager,
    )
    approve_proposal(proposal, by=approver, override_note="smoke")
    steps.append("proposal approved")
    other = create_proposal(
        portfolio=fund,
        strategy=book,
        instrument=instrument,
        terms=Terms("SELL", Decimal("1")),
        rationale="smoke",
        business_date=trading_day,
        by=manager,
    )
    reject_proposal(other, by=approver, note="smoke rejection")
    steps.append("proposal rejected with note")
    trade("SELL")
    steps.append("closed")
    kinds = set(Entry.objects.filter(seq__gt=first).values_list("kind", flat=True))
    wanted = {
        EntryKind.POSITION_OPENED,
        EntryKind.MTM_RUN,
        EntryKind.PROPOSAL_APPROVED,
        EntryKind.PROPOSAL_REJECTED,
        EntryKind.POSITION_CLOSED,
    }
    if not wanted <= kinds:
        raise RuntimeError(f"journal entries missing: {', '.join(sorted(wanted - kinds))}")
    steps.append(f"{len(kinds)} kinds journaled")
    return steps
