"""What /metrics exports: every process's counters, and the state of the system read at scrape
time.

Counters and histograms (django-prometheus's requests and latencies, apps.core.telemetry's
cache lookups and breakers) are counted by the process that serves the request. Under gunicorn,
prometheus_client's multiprocess mode keeps each worker's values in a file of
PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it up) and a scrape sums the files of every
worker, living or dead (a dead worker's counts are kept in archive files:
pms_project.metrics_files), so whichever worker answers reports the whole server.

The state (pipelines per fund, limits, market data, the journal's last verification, backups,
Redis, Celery workers) is read from the database and the services by `StateCollector`, the
same whichever process answers, at most every METRICS_CACHE_SECONDS per process: a scrape
every 15 s costs a handful of queries, not one per fund.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.ops import monitoring
from pms_project.metrics_files import reading

log = logging.getLogger(__name__)
Section = Callable[[], Iterator[Metric]]
Valuer = Callable[[monitoring.PipelineHealth], float | None]


def exposition() -> bytes:
    """The text a scrape gets. With PROMETHEUS_MULTIPROC_DIR (gunicorn): the state, computed
    outside the folder's lock (a slow database must not hold up gunicorn's master, which takes
    the lock to retire a dead worker's files), and the sum of every worker's files, read under
    it (pms_project.metrics_files). Otherwise this process's registry, where the state
    collector is registered at start-up (OpsConfig.ready)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return generate_latest(REGISTRY)
    state = CollectorRegistry()
    state.register(StateCollector())
    computed = generate_latest(state)  # first: it brings this process's breaker gauges up to date
    counted = CollectorRegistry()
    MultiProcessCollector(counted, path=folder)
    with reading(folder):
        counters = generate_latest(counted)
    return counters + computed


class StateCollector(Collector):
    def describe(self) -> list[Metric]:
        """Nothing up front: registering must not query the database (it may not exist yet)."""
        return []

    def collect(self) -> Iterator[Metric]:
        from apps.core.cache import breaker, publisher_breaker

        # This process's breaker gauges follow time too (an open breaker closes by itself).
        breaker.is_open  # noqa: B018
        publisher_breaker.is_open  # noqa: B018
        yield from _state()


_lock = threading.Lock()
_kept: tuple[float, list[Metric]] | None = None


def _state() -> list[Metric]:
    """The state's metric families, recomputed at most every METRICS_CACHE_SECONDS."""
    global _kept
    with _lock:  # concurrent scrapes wait for one computation rather than each doing it
        if _kept is not None and time.monotonic() - _kept[0] < settings.METRICS_CACHE_SECONDS:
            return _kept[1]
        families = _compute()
        _kept = (time.monotonic(), families)
        return families


def forget() -> None:
    """Drop the kept state (tests; the next scrape recomputes it)."""
    global _kept
    with _lock:
        _kept = None


def _compute() -> list[Metric]:
    started = time.perf_counter()
    families: list[Metric] = []
    errors = GaugeMetricFamily(
        "pms_collector_errors",
        "1 when reading this part of the state failed at the last computation (see the log).",
        labels=["section"],
    )
    database = _database_up()
    families.append(_gauge("pms_database_up", "1 when PostgreSQL answers.", float(database)))
    sections: dict[str, Section] = {"redis": _redis, "celery": _celery}
    if database:  # without it every query would wait for its connection timeout
        sections |= {"pipelines": _pipelines, "limits": _limits, "market data": _market_data}
        sections |= {"journal": _journal, "backups": _backups}
    for name, section in sections.items():
        try:
            families += list(section())
        except Exception:  # one broken part must not blank the others (nor the counters)
            log.exception("metrics: reading the %s failed", name)
            errors.add_metric([name], 1)
        else:
            errors.add_metric([name], 0)
    families.append(errors)
    families.append(
        _gauge(
            "pms_metrics_state_seconds",
            "How long the last computation of the state took.",
            time.perf_counter() - started,
        )
    )
    return families


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.warning("metrics: the database did not answer", exc_info=True)
        return False
    return True


# --- sections ---------------------------------------------------------------------------------

PIPELINE_LABELS = ["pipeline", "portfolio"]


def _pipelines() -> Iterator[Metric]:
    health = monitoring.pipeline_health()

    def family(name: str, documentation: str, value: Valuer) -> GaugeMetricFamily:
        metric = GaugeMetricFamily(name, documentation, labels=PIPELINE_LABELS)
        for each in health:
            number = value(each)
            if number is not None:
                metric.add_metric([each.pipeline, each.portfolio], number)
        return metric

    yield family(
        "pms_pipeline_overdue",
        "1 when the run of the last ANBIMA business day due (EOD by EOD_DEADLINE, pre-open "
        "by PREOPEN_DEADLINE, local time) has not succeeded.",
        lambda h: float(h.overdue),
    )
    yield family(
        "pms_pipeline_last_success_age_business_days",
        "Business days from the last success through the business date due: 0 is on time.",
        lambda h: float(h.behind),
    )
    yield family(
        "pms_pipeline_last_success_timestamp_seconds",
        "When the last successful run finished (Unix time).",
        lambda h: h.finished_at.timestamp() if h.finished_at else None,
    )
    yield family(
        "pms_pipeline_last_success_business_date_timestamp_seconds",
        "The business date of the last successful run (local midnight, Unix time).",
        lambda h: _midnight(h.last_success) if h.last_success else None,
    )
    yield family(
        "pms_pipeline_last_success_duration_seconds",
        "How long the last successful run took.",
        lambda h: h.duration,
    )
    yield family(
        "pms_pipeline_failed_runs",
        "Failed runs no later success has superseded (the pages' failed-run banner).",
        lambda h: float(h.failed),
    )
    yield family(
        "pms_pipeline_abandoned_runs",
        "Runs whose process died and whose takeover did not finish (ABANDONED).",
        lambda h: float(h.abandoned),
    )
    yield family(
        "pms_pipeline_stuck_runs",
        "RUNNING runs without a heartbeat for a lease (PIPELINE_LEASE_SECONDS) or past the task "
        "time limit.",
        lambda h: float(h.stuck),
    )
    yield family("pms_pipeline_running_runs", "Runs in progress.", lambda h: float(h.running))


def _midnight(day: date) -> float:
    return timezone.make_aware(datetime.combine(day, datetime.min.time())).timestamp()


def _limits() -> Iterator[Metric]:
    from apps.positions.models import Portfolio
    from apps.risk.models import Alert, RiskSnapshot

    latest = RiskSnapshot.objects.filter(portfolio=OuterRef("pk")).order_by("-date")
    funds = Portfolio.objects.active().annotate(snapshot=Subquery(latest.values("pk")[:1]))
    codes = dict(funds.values_list("snapshot", "code"))
    utilisation = GaugeMetricFamily(
        "pms_limit_utilisation_ratio",
        "Latest risk snapshot of each active fund: each limit's value over its hard level.",
        labels=["portfolio", "limit", "metric"],
    )
    used: dict[tuple[str, str, str], float] = {}  # two limits of one label: the worse one
    snapshots = RiskSnapshot.objects.filter(pk__in=[pk for pk in codes if pk is not None])
    for pk, checks in snapshots.values_list("pk", "report__limits"):
        for check in checks or []:
            key = (codes[pk], str(check["label"]), str(check.get("metric", "")))
            used[key] = max(used.get(key, 0.0), float(check["utilisation"]))
    for labels, value in sorted(used.items()):
        utilisation.add_metric(list(labels), value)
    yield utilisation

    alerts = GaugeMetricFamily(
        "pms_open_alerts", "Limit alerts not yet acknowledged.", labels=["portfolio", "level"]
    )
    counts = {(code, level): 0 for code in codes.values() for level in Alert.Level.values}
    for code, level, n in (
        Alert.objects.open()
        .order_by()
        .values("portfolio__code", "level")
        .annotate(n=Count("pk"))
        .values_list("portfolio__code", "level", "n")
    ):
        counts[(code, level)] = n
    for (code, level), n in sorted(counts.items()):
        alerts.add_metric([code, level], n)
    yield alerts


def _market_data() -> Iterator[Metric]:
    found = monitoring.missing_market_data()
    missing = GaugeMetricFamily(
        "pms_market_data_missing",
        "The previous business day's settlement prices (kind=settlement: instruments held or "
        "recently priced) and CDI/PTAX fixings (kind=fixing) that are not loaded.",
        labels=["kind"],
    )
    missing.add_metric(["settlement"], len(found.prices))
    missing.add_metric(["fixing"], len(found.fixings))
    yield missing


def _journal() -> Iterator[Metric]:
    from apps.ops.models import CheckResult

    result = CheckResult.objects.filter(name=CheckResult.Name.JOURNAL_CHAIN).first()
    yield _gauge(
        "pms_journal_chain_checked_timestamp_seconds",
        "When the journal's hash chain was last verified (beat, every JOURNAL_VERIFY_MINUTES, "
        "or verify_system); 0: never.",
        result.checked_at.timestamp() if result else 0.0,
    )
    if result is not None:
        yield _gauge(
            "pms_journal_chain_ok",
            "1 when the last verification found the chain intact, 0 when it found it broken.",
            float(result.ok),
        )


def _backups() -> Iterator[Metric]:
    yield _gauge(
        "pms_backup_last_success_timestamp_seconds",
        "When the newest backup completed (Unix time): the one scripts/backup.sh recorded in the "
        "database, or the newest complete folder in PMS_BACKUP_DIR here; 0: none.",
        monitoring.last_backup_at() or 0.0,
    )


def _redis() -> Iterator[Metric]:
    up = monitoring.redis_up()
    if up is not None:
        yield _gauge("pms_redis_up", "1 when Redis (REDIS_URL) answers a PING.", float(up))


def _celery() -> Iterator[Metric]:
    workers = monitoring.live_workers()
    if workers is not None:
        yield _gauge(
            "pms_celery_workers_live", "Celery workers that answered a ping.", float(workers)
        )
