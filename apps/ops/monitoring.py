"""What the alerts watch, read where it lives: the pipelines of every fund against the ANBIMA
calendar, the journal's last verification, market data, backups, Redis and the Celery workers.

Plain values for apps.ops.metrics (which exports them at scrape time) and verify_system. The
business-day logic lives here, not in the alert rules: "no EOD success for the last business
day by 20:00" needs the holiday calendar, which PromQL does not have.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from apps.journal.anchors import latest
from apps.journal.models import Entry
from apps.journal.services import verify
from apps.marketdata.calendar import business_days, is_business_day, previous_business_day
from apps.ops.models import CheckResult, PipelineRun
from apps.ops.pipelines import stale_runs, unresolved_failed_runs
from apps.positions.models import Portfolio
from apps.positions.mtm import first_mark_date

log = logging.getLogger(__name__)
PING_TIMEOUT = 0.5  # seconds a scrape waits for Redis or the Celery workers to answer


# --- pipelines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineHealth:
    """One pipeline of one fund, as the alerts see it."""

    pipeline: str
    portfolio: str
    expected: date  # the business date whose run must have succeeded by now
    last_success: date | None
    finished_at: datetime | None  # of the last success
    duration: float | None  # seconds the last success took
    behind: int  # business days from the last success through `expected`: 0 is on time
    failed: int  # failed runs no later success has superseded (the pages' banner)
    abandoned: int  # runs whose process died and whose takeover did not finish
    stuck: int  # RUNNING without a heartbeat for a lease, or past the task time limit
    running: int

    @property
    def overdue(self) -> bool:
        return self.behind > 0


def deadline(pipeline: str) -> time_of_day:
    """The local time by which a business day's run must have succeeded."""
    if pipeline == PipelineRun.Pipeline.EOD:
        return settings.EOD_DEADLINE  # type: ignore[no-any-return]
    return settings.PREOPEN_DEADLINE  # type: ignore[no-any-return]


def expected_business_date(pipeline: str, now: datetime) -> date:
    """The latest ANBIMA business date whose run must have succeeded by `now` (local time):
    today once today's deadline has passed on a business day, else the business day before."""
    local = timezone.localtime(now)
    today = local.date()
    if is_business_day(today) and local.time() >= deadline(pipeline):
        return today
    return previous_business_day(today)


def business_days_behind(last: date | None, expected: date, first: date) -> int:
    """Business days with no success, after `last` (or from the fund's first day, `first`)
    through `expected`; today's holiday list."""
    if last is not None and last >= expected:
        return 0
    if last is None:
        if first > expected:
            return 0
        return business_days(first, expected + timedelta(days=1), as_of=expected)
    return business_days(last, expected, as_of=expected)


def pipeline_health(now: datetime | None = None) -> list[PipelineHealth]:
    """Every active fund's EOD and pre-open, plus any other fund or pipeline with a run that
    needs attention. A handful of queries whatever the number of funds."""
    now = now or timezone.now()
    pipelines = [PipelineRun.Pipeline.EOD, PipelineRun.Pipeline.PREOPEN]
    funds = list(
        Portfolio.objects.active().annotate(
            **{p.value: Subquery(_last_success(p).values("pk")[:1]) for p in pipelines}
        )
    )
    ids = [getattr(fund, p.value) for fund in funds for p in pipelines]
    successes = PipelineRun.objects.in_bulk([pk for pk in ids if pk is not None])
    problems = _problem_counts()
    health = []
    for fund in funds:
        for pipeline in pipelines:
            run = successes.get(getattr(fund, pipeline.value))
            expected = expected_business_date(pipeline, now)
            last = run.business_date if run else None
            health.append(
                PipelineHealth(
                    pipeline=pipeline.value,
                    portfolio=fund.code,
                    expected=expected,
                    last_success=last,
                    finished_at=run.finished_at if run else None,
                    duration=run.duration_seconds if run else None,
                    behind=business_days_behind(last, expected, first_mark_date(fund)),
                    **problems.pop((pipeline.value, fund.code), _NO_PROBLEMS),
                )
            )
    return health + _others_with_problems(problems, now)


_NO_PROBLEMS = {"failed": 0, "abandoned": 0, "stuck": 0, "running": 0}


def _last_success(pipeline: str) -> QuerySet[PipelineRun]:
    return PipelineRun.objects.filter(
        pipeline=pipeline, portfolio=OuterRef("pk"), status=PipelineRun.Status.SUCCESS
    ).order_by("-business_date")


def _problem_counts() -> dict[tuple[str, str], dict[str, int]]:
    """Failed, abandoned, stuck and running runs per (pipeline, fund code)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}

    def add(kind: str, pairs: list[tuple[str, str | None, int]]) -> None:
        for pipeline, code, n in pairs:  # a run of no fund (a firm-wide step) reads "-"
            counts.setdefault((pipeline, code or "-"), dict(_NO_PROBLEMS))[kind] += n

    def grouped(queryset: QuerySet[PipelineRun]) -> list[tuple[str, str | None, int]]:
        values = queryset.order_by().values("pipeline", "portfolio__code")
        return list(values.annotate(n=Count("pk")).values_list("pipeline", "portfolio__code", "n"))

    add("failed", grouped(unresolved_failed_runs()))
    add("abandoned", grouped(PipelineRun.objects.filter(status=PipelineRun.Status.ABANDONED)))
    add("running", grouped(PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING)))
    add("stuck", [(run.pipeline, getattr(run.portfolio, "code", None), 1) for run in stuck_runs()])
    return counts


def stuck_runs() -> list[PipelineRun]:
    """RUNNING runs whose process stopped renewing the lease, or that run past the task time
    limit (alive but hung): what verify_system calls "RUNNING but overdue"."""
    too_long = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    stale = stale_runs()
    hung = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING, started_at__lt=too_long)
    known = {run.pk for run in stale}
    return stale + [run for run in hung.select_related("portfolio") if run.pk not in known]


def _others_with_problems(
    problems: dict[tuple[str, str], dict[str, int]], now: datetime
) -> list[PipelineHealth]:
    """A fund made inactive with a failed or stuck run left behind still shows it."""
    return [
        PipelineHealth(
            pipeline=pipeline,
            portfolio=code,
            expected=expected_business_date(pipeline, now),
            last_success=None,
            finished_at=None,
            duration=None,
            behind=0,
            **counts,
        )
        for (pipeline, code), counts in sorted(problems.items())
    ]


# --- the journal ------------------------------------------------------------------------------


def verify_journal_chain() -> CheckResult:
    """Recompute the journal's hash chain and its head against the latest anchor, and keep
    the result for the metrics (one row, overwritten)."""
    started = time.perf_counter()
    broken = verify()
    seconds = time.perf_counter() - started
    if broken is not None:
        detail = f"BROKEN at entry #{broken.seq}: {broken.reason}"
        return record_check(CheckResult.Name.JOURNAL_CHAIN, False, detail, seconds)
    anchor = latest()
    against = f"anchor #{anchor.seq} ({anchor.source}) holds" if anchor else "no anchor yet"
    detail = f"{Entry.objects.count():,} entries verified; {against}"
    return record_check(CheckResult.Name.JOURNAL_CHAIN, True, detail, seconds)


def record_check(name: str, ok: bool, detail: str, seconds: float) -> CheckResult:
    result, _ = CheckResult.objects.update_or_create(
        name=name,
        defaults={"ok": ok, "detail": detail, "checked_at": timezone.now(), "seconds": seconds},
    )
    return result


# --- market data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingMarketData:
    day: date  # the business day whose settlements and fixings must be there
    wanted: int  # instruments that must have a price that day
    prices: list[str]  # tickers held or recently priced with no effective price that day
    fixings: list[str]  # "CDI", "PTAX_SELL"


def missing_market_data(day: date | None = None) -> MissingMarketData:
    """The previous business day's settlement prices and CDI/PTAX fixings that are missing:
    an instrument is wanted when it is held, or active, unexpired and priced in the ten days
    before (a contract that stopped trading drops out)."""
    from apps.marketdata.models import Fixing, FixingIndex, Instrument
    from apps.marketdata.queries import effective_prices
    from apps.positions.models import Position

    day = day or previous_business_day(timezone.localdate())
    held = set(Position.objects.open().values_list("instrument_id", flat=True))
    active = Instrument.objects.active().filter(pk__in=held) | Instrument.objects.active().exclude(
        maturity__lt=day
    ).filter(prices__date__gte=day - timedelta(days=10))
    wanted = {i.pk: i.ticker for i in active.distinct()}
    priced = effective_prices(day, wanted)
    fixings = set(
        Fixing.objects.filter(
            date=day, index__in=[FixingIndex.CDI, FixingIndex.PTAX_SELL]
        ).values_list("index", flat=True)
    )
    return MissingMarketData(
        day=day,
        wanted=len(wanted),
        prices=sorted(t for pk, t in wanted.items() if pk not in priced),
        fixings=sorted({FixingIndex.CDI.value, FixingIndex.PTAX_SELL.value} - fixings),
    )


# --- backups, Redis, workers --------------------------------------------------------------------


def newest_backup() -> Path | None:
    """The newest complete scripts/backup.sh folder (its manifest is written last)."""
    root = Path(settings.BACKUP_DIR)
    folders = sorted(
        p for p in root.glob("pms-*") if p.is_dir() and (p / "manifest.sha256").exists()
    )
    return folders[-1] if folders else None


def last_backup_at() -> float | None:
    """When the newest backup completed (Unix time): the latest of the one scripts/backup.sh
    recorded in the database (it runs where the backups live, often not here) and the newest
    folder in PMS_BACKUP_DIR; None when there is neither."""
    recorded = CheckResult.objects.filter(name=CheckResult.Name.BACKUP, ok=True).first()
    folder = newest_backup()
    times = [recorded.checked_at.timestamp()] if recorded else []
    times += [backup_finished_at(folder)] if folder else []
    return max(times, default=None)


def backup_finished_at(folder: Path) -> float:
    """When the backup completed (Unix time): the folder's last change, the manifest written
    last into it before it got its final name."""
    return folder.stat().st_mtime


def redis_up() -> bool | None:
    """Redis answers a PING within PING_TIMEOUT, asked directly (not through the breaker, so
    the answer is the truth even while the breaker is open); None without Redis configured."""
    if not settings.REDIS_URL:
        return None
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=PING_TIMEOUT, socket_connect_timeout=PING_TIMEOUT
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def live_workers() -> int | None:
    """Celery workers answering a ping within PING_TIMEOUT; None without a broker (the
    embedded default runs tasks eagerly). A broker that does not answer counts no worker.

    Celery's broadcast publishes with kombu's `retry=True` and no limit: a broker that dies
    or hangs between the connection check and the publish would hold it for as long as that
    lasts. So the ping runs in a thread the scrape waits for at most a couple of seconds, and
    while a previous one is still stuck this process starts no other: at most one thread per
    process waits for a dead broker."""
    global _pinging
    url = settings.CELERY_BROKER_URL
    if not url:
        return None
    if _pinging is not None and _pinging.is_alive():
        log.warning("metrics: the broker has not answered the previous ping yet")
        return 0
    replies: list[int] = []
    _pinging = threading.Thread(target=lambda: replies.append(_ping(url)), daemon=True)
    _pinging.start()
    _pinging.join(timeout=4 * PING_TIMEOUT)
    if not replies:
        log.warning("metrics: the broker did not answer a ping in %.1f s", 4 * PING_TIMEOUT)
    return replies[0] if replies else 0


_pinging: threading.Thread | None = None


def _ping(url: str) -> int:
    """Workers that answered (a Celery app of its own: the project's may have no broker)."""
    from celery import Celery

    options = {"socket_timeout": PING_TIMEOUT, "socket_connect_timeout": PING_TIMEOUT}
    probe = Celery("pms-ping", broker=url, set_as_current=False)
    probe.conf.broker_transport_options = options
    probe.conf.broker_connection_timeout = PING_TIMEOUT
    try:
        with probe.connection_for_write() as connection:
            # Refused or hung: give up after one retry, not kombu's endless ones.
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=PING_TIMEOUT)
            inspect = probe.control.inspect(timeout=PING_TIMEOUT, connection=connection)
            return len(inspect.ping() or {})
    except Exception as error:  # refused, timed out: no worker can be reached either
        log.warning("metrics: the broker refused a ping (%s)", type(error).__name__)
        return 0
    finally:
        probe.close()
