"""/metrics: the state the alerts watch (every fund's pipelines against the ANBIMA calendar,
limits, market data, the journal's last verification, backups, Redis, Celery workers), the
cache lookups with page hits, the circuit breakers, the bearer token and a dead database.
Summing across gunicorn workers is test_metrics_multiprocess.py."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.core.cache import MISSING, breaker, cache_get
from apps.ops.models import CheckResult, PipelineRun
from apps.ops.tasks import verify_journal
from apps.ops.tests.support import D3, D4, BlackHole, get, point_caches_at, sample, scrape
from scripts.redis_server import RedisServer
from tests.support import Book, BookAt

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")


@pytest.fixture(autouse=True)
def no_token(settings: Any) -> None:
    settings.METRICS_TOKEN = ""


def midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=SP).timestamp()


# --- pipelines, per fund ------------------------------------------------------------------------


def test_each_fund_s_pipelines_limits_and_alerts(alice: Client, fund: Book) -> None:
    """The fund's EOD ran through D3 and its pre-open for D4; it is 08:00 on D4."""
    text = scrape(alice)
    code = fund.portfolio.code
    eod = {"pipeline": "eod", "portfolio": code}
    preopen = {"pipeline": "preopen", "portfolio": code}
    assert sample(text, "pms_pipeline_overdue", **eod) == 0
    assert sample(text, "pms_pipeline_overdue", **preopen) == 0
    assert sample(text, "pms_pipeline_last_success_age_business_days", **eod) == 0
    assert sample(text, "pms_pipeline_last_success_business_date_timestamp_seconds", **eod) == (
        midnight(D3)
    )
    assert sample(text, "pms_pipeline_last_success_business_date_timestamp_seconds", **preopen) == (
        midnight(D4)
    )
    run = PipelineRun.objects.get(pipeline="eod", business_date=D3)
    assert run.finished_at is not None
    finished = sample(text, "pms_pipeline_last_success_timestamp_seconds", **eod)
    assert finished == pytest.approx(run.finished_at.timestamp())
    assert sample(text, "pms_pipeline_last_success_duration_seconds", **eod) == pytest.approx(
        run.duration_seconds
    )
    for problem in ("failed", "abandoned", "stuck", "running"):
        assert sample(text, f"pms_pipeline_{problem}_runs", **eod) == 0, problem
    # The fund's gross limit is breached (hard level 0.0002): an open HARD alert.
    used = sample(text, "pms_limit_utilisation_ratio", portfolio=code, metric="GROSS")
    assert used == pytest.approx(27.77)  # 0.5554 % of NAV over 0.02 %
    assert sample(text, "pms_open_alerts", portfolio=code, level="HARD") == 1
    assert sample(text, "pms_open_alerts", portfolio=code, level="WARNING") == 0


@pytest.mark.parametrize(
    ("now", "overdue", "behind"),
    [
        (datetime(2025, 2, 6, 19, 59, tzinfo=SP), 0, 0),  # D4's EOD is due at 20:00
        (datetime(2025, 2, 6, 20, 0, tzinfo=SP), 1, 1),
        (datetime(2025, 2, 10, 9, 0, tzinfo=SP), 1, 2),  # Monday: D4 and Friday 7 missing
    ],
)
def test_the_eod_is_overdue_when_the_business_day_due_has_no_success(
    alice: Client, fund: Book, now: datetime, overdue: int, behind: int
) -> None:
    with time_machine.travel(now, tick=False):
        text = scrape(alice)
    eod = {"pipeline": "eod", "portfolio": fund.portfolio.code}
    assert sample(text, "pms_pipeline_overdue", **eod) == overdue
    assert sample(text, "pms_pipeline_last_success_age_business_days", **eod) == behind


def test_failed_abandoned_and_stuck_runs_are_counted_per_fund(
    alice: Client, fund: Book, book_at: BookAt
) -> None:
    other = book_at(D3).portfolio
    long_ago = timezone.now() - timedelta(hours=1)
    for day, status in ((D3, "FAILED"), (D4, "RUNNING")):
        PipelineRun.objects.create(
            pipeline="eod",
            business_date=day,
            portfolio=other,
            status=status,
            started_at=long_ago,
            heartbeat_at=long_ago,  # no sign of life for an hour: stuck
            error="no settlement" if status == "FAILED" else "",
        )
    PipelineRun.objects.create(
        pipeline="preopen",
        business_date=D4,
        portfolio=other,
        status="ABANDONED",
        started_at=long_ago,
    )
    text = scrape(alice)
    mine = {"portfolio": fund.portfolio.code}
    theirs = {"portfolio": other.code}
    assert sample(text, "pms_pipeline_failed_runs", pipeline="eod", **theirs) == 1
    assert sample(text, "pms_pipeline_stuck_runs", pipeline="eod", **theirs) == 1
    assert sample(text, "pms_pipeline_running_runs", pipeline="eod", **theirs) == 1
    assert sample(text, "pms_pipeline_abandoned_runs", pipeline="preopen", **theirs) == 1
    for name in ("failed", "stuck", "running", "abandoned"):
        for pipeline in ("eod", "preopen"):
            assert sample(text, f"pms_pipeline_{name}_runs", pipeline=pipeline, **mine) == 0
    # The other fund never succeeded: its EOD is overdue from its first business day.
    assert sample(text, "pms_pipeline_overdue", pipeline="eod", **theirs) == 1


def test_the_state_costs_the_same_queries_for_one_fund_or_many(
    alice: Client, fund: Book, book_at: BookAt
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(alice)
        return len(captured)

    one = queries()
    for _ in range(3):
        other = book_at(D3).portfolio
        PipelineRun.objects.create(
            pipeline="eod",
            business_date=D3,
            portfolio=other,
            status="SUCCESS",
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
    assert queries() == one


def test_the_state_is_computed_once_per_interval(alice: Client, fund: Book, settings: Any) -> None:
    settings.METRICS_CACHE_SECONDS = 30
    scrape(alice)  # computes it
    with CaptureQueriesContext(connection) as captured:
        response = alice.get("/metrics")
    assert response.status_code == 200 and b"pms_pipeline_overdue" in response.content
    assert len(captured) == 0


# --- the journal, market data, backups ----------------------------------------------------------


def test_the_journal_chain_reports_its_last_verification(alice: Client, fund: Book) -> None:
    text = scrape(alice)
    assert sample(text, "pms_journal_chain_checked_timestamp_seconds") == 0
    assert sample(text, "pms_journal_chain_ok") is None  # never verified: no verdict

    assert verify_journal.apply().get() is True  # what beat runs every JOURNAL_VERIFY_MINUTES
    text = scrape(alice)
    assert sample(text, "pms_journal_chain_ok") == 1
    checked = CheckResult.objects.get(name="journal_chain").checked_at
    assert sample(text, "pms_journal_chain_checked_timestamp_seconds") == checked.timestamp()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="forging needs the trigger off")
def test_a_broken_journal_chain_reads_zero(alice: Client, fund: Book) -> None:
    with connection.cursor() as cursor:  # a superuser bypassing the append-only trigger
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE journal_entry SET note = 'forged' WHERE seq = 1")
        cursor.execute("SET session_replication_role = origin")
    assert verify_journal.apply().get() is False
    assert sample(scrape(alice), "pms_journal_chain_ok") == 0
    assert "BROKEN at entry #1" in CheckResult.objects.get(name="journal_chain").detail


def test_missing_settlements_and_fixings_of_the_previous_business_day(
    alice: Client, fund: Book
) -> None:
    assert sample(scrape(alice), "pms_market_data_missing", kind="settlement") == 0
    # Monday 10 Feb: Friday 7's WDOH25 settlement, CDI and PTAX were never loaded.
    with time_machine.travel(datetime(2025, 2, 10, 9, 0, tzinfo=SP), tick=False):
        text = scrape(alice)
    assert sample(text, "pms_market_data_missing", kind="settlement") == 1
    assert sample(text, "pms_market_data_missing", kind="fixing") == 2


def test_the_newest_backup_s_time(alice: Client, settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_DIR = tmp_path
    assert sample(scrape(alice), "pms_backup_last_success_timestamp_seconds") == 0
    for name, age in (("pms-20250204-220000", 86400 + 3600), ("pms-20250205-220000", 3600)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "manifest.sha256").write_text("0" * 64 + "  pms.dump\n")
        os.utime(folder, (time.time() - age, time.time() - age))
    (tmp_path / ".pms-partial-x").mkdir()  # a backup in progress is not one
    newest = (tmp_path / "pms-20250205-220000").stat().st_mtime
    assert sample(scrape(alice), "pms_backup_last_success_timestamp_seconds") == newest


def test_a_backup_recorded_by_backup_sh_on_another_host_counts(
    alice: Client, settings: Any, tmp_path: Path
) -> None:
    """backup.sh writes its row; the backups themselves are not visible to the web process."""
    settings.BACKUP_DIR = tmp_path / "not-mounted-here"
    with connection.cursor() as cursor:  # what scripts/backup.sh runs once the folder is complete
        cursor.execute(
            "INSERT INTO ops_checkresult (name, ok, detail, checked_at, seconds) "
            "VALUES ('backup', true, '/srv/backups/pms-20250205-220000', %s, 12)",
            [timezone.now()],
        )
    recorded = CheckResult.objects.get(name="backup").checked_at.timestamp()
    assert sample(scrape(alice), "pms_backup_last_success_timestamp_seconds") == recorded


# --- Redis, the breaker, the workers -----------------------------------------------------------


def test_a_live_redis_is_up_and_no_worker_answers_without_one(
    alice: Client, settings: Any, redis_server: RedisServer
) -> None:
    point_caches_at(settings, redis_server.url)
    settings.CELERY_BROKER_URL = redis_server.url  # a broker no worker listens on
    started = time.perf_counter()
    text = scrape(alice)
    assert time.perf_counter() - started < 5
    assert sample(text, "pms_redis_up") == 1
    assert sample(text, "pms_celery_workers_live") == 0
    assert sample(text, "pms_circuit_breaker_open", breaker="redis") == 0


def test_without_a_broker_or_redis_there_is_nothing_to_ping(alice: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = ""
    settings.REDIS_URL = ""
    text = scrape(alice)
    assert sample(text, "pms_celery_workers_live") is None
    assert sample(text, "pms_redis_up") is None


def test_a_dead_redis_is_down_its_errors_counted_and_the_breaker_shown_open(
    alice: Client, dead_redis: RedisServer
) -> None:
    errors = REGISTRY.get_sample_value("pms_cache_errors_total") or 0
    openings = (
        REGISTRY.get_sample_value("pms_circuit_breaker_openings_total", {"breaker": "redis"}) or 0
    )
    for _ in range(breaker.threshold):
        assert cache_get("rm:probe") is MISSING
    text = scrape(alice)
    assert sample(text, "pms_redis_up") == 0
    assert sample(text, "pms_circuit_breaker_open", breaker="redis") == 1
    assert sample(text, "pms_cache_errors_total") == errors + breaker.threshold
    assert sample(text, "pms_circuit_breaker_openings_total", breaker="redis") == openings + 1
    breaker.success()
    assert sample(scrape(alice), "pms_circuit_breaker_open", breaker="redis") == 0


# --- the cache lookups, page hits included ---------------------------------------------------


def _lookups(cache: str, result: str) -> float:
    labels = {"cache": cache, "model": "book", "result": result}
    return REGISTRY.get_sample_value("pms_cache_requests_total", labels) or 0


@pytest.mark.django_db(transaction=True)  # inside a transaction nothing is cached
def test_page_hits_and_read_model_lookups_are_both_counted(alice: Client, fund: Book) -> None:
    before = {(c, r): _lookups(c, r) for c in ("page", "data") for r in ("hit", "miss", "bypass")}

    def counted() -> dict[tuple[str, str], float]:
        return {key: _lookups(*key) - was for key, was in before.items() if _lookups(*key) != was}

    assert get(alice, "book", fund)["X-Cache"] == "miss"
    assert counted() == {("page", "miss"): 1, ("data", "miss"): 1}
    assert get(alice, "book", fund)["X-Cache"] == "hit"  # the body: no read model looked up
    assert counted() == {("page", "miss"): 1, ("data", "miss"): 1, ("page", "hit"): 1}
    get(alice, "book", fund, "&date=2025-02-04")  # history: not cached
    assert counted()[("page", "bypass")] == 1
    text = scrape(alice)
    assert sample(text, "pms_cache_requests_total", cache="page", model="book", result="hit") == (
        _lookups("page", "hit")
    )


# --- the endpoint -----------------------------------------------------------------------------


def test_metrics_need_the_bearer_token_when_one_is_set(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert b"pms_" not in refused.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess").status_code == 401
    allowed = scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert "pms_database_up 1.0" in allowed


def test_metrics_answer_any_host_over_http_like_the_probes(client: Client, settings: Any) -> None:
    """Prometheus scrapes web:8000 on the compose network: neither that Host nor plain HTTP
    may turn the scrape into a 400 or a redirect."""
    settings.ALLOWED_HOSTS = ["pms.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/metrics", HTTP_HOST="web:8000")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_the_counters_still_answer(
    client: Client, database_down: None
) -> None:
    started = time.perf_counter()
    text = scrape(client)
    assert time.perf_counter() - started < 10
    assert sample(text, "pms_database_up") == 0
    assert sample(text, "pms_collector_errors", section="redis") == 0
    assert sample(text, "pms_collector_errors", section="pipelines") is None  # not attempted
    assert sample(text, "pms_pipeline_overdue") is None  # not read: no database
    assert "django_http_requests_total_by_method_total" in text


@pytest.mark.parametrize("broker", ["refused", "hung"])
def test_a_dead_or_hung_broker_counts_no_worker_without_holding_the_scrape(
    alice: Client, settings: Any, broker: str
) -> None:
    from apps.ops import monitoring

    hole = BlackHole() if broker == "hung" else None
    port = hole.port if hole else _free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    try:
        started = time.perf_counter()
        text = scrape(alice)
        assert time.perf_counter() - started < 4
        assert sample(text, "pms_celery_workers_live") == 0
        assert monitoring._pinging is not None
        monitoring._pinging.join(timeout=5)
        assert not monitoring._pinging.is_alive(), "the ping gave up (no endless retry)"
    finally:
        if hole:
            hole.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
