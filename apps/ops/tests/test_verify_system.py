"""`manage.py verify_system` on a healthy small setup, then broken one part at a time: each
breakage FAILs the check that owns it, with a message that says what and where."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from pytest_django import Settings
from time_machine import TimeMachineFixture

from apps.journal.models import Entry
from apps.marketdata.models import Instrument, SettlementPrice
from apps.ops.pipelines import run_due, run_pipeline
from apps.ops.tests.support import delete_last_entries, long_wdo, point_caches_at
from apps.ops.verify import FAIL, PASS, WARN
from apps.positions.models import Portfolio, Position
from scripts.redis_server import RedisServer
from tests.support import BookAt

pytestmark = pytest.mark.django_db

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
D1, D2 = date(2025, 2, 3), date(2025, 2, 4)  # Monday, Tuesday: marked
TODAY = date(2025, 2, 5)  # Wednesday: the previous business day is D2
NOW = datetime(2025, 2, 5, 9, 0, tzinfo=SAO_PAULO)  # after the pre-open run


# --- the healthy setup -----------------------------------------------------------------------


@dataclass(frozen=True)
class Healthy:
    """The healthy setup's fund and its Redis (a test kills it)."""

    portfolio: Portfolio
    redis: RedisServer


@pytest.fixture
def healthy(
    book_at: BookAt,
    settings: Settings,
    time_machine: TimeMachineFixture,
    tmp_path: Path,
    redis_server: RedisServer,
) -> Healthy:
    """A fund marked through the previous business day of a frozen today, EOD and pre-open
    run, a fresh backup, production-like security settings and a Redis of our own."""
    time_machine.move_to(NOW, tick=False)
    settings.ANTHROPIC_API_KEY = ""
    settings.PIPELINE_RETRY_DELAYS = []
    settings.ALLOWED_HOSTS = ["pms.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.CELERY_BROKER_URL = ""  # eager tasks, as the suite runs them (no broker to ping)
    point_caches_at(settings, redis_server.url)

    book = long_wdo(book_at, through=D2)
    assert [o.status for o in run_due("eod", D2, portfolio=book.portfolio)] == ["ran", "ran"]
    assert run_pipeline("preopen", book.portfolio, TODAY).status == "ran"

    backups = tmp_path / "backups"
    newest = backups / "pms-20250205-060000"
    newest.mkdir(parents=True)
    (newest / "manifest.sha256").write_text("0" * 64 + "  pms.dump\n")
    three_hours_ago = NOW.timestamp() - 3 * 3600
    os.utime(newest, (three_hours_ago, three_hours_ago))
    settings.BACKUP_DIR = backups
    return Healthy(book.portfolio, redis_server)


def verify(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of `manage.py verify_system ARGS`."""
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("verify_system", *args, stdout=out, stderr=StringIO())
    code = exited.value.code
    assert isinstance(code, int), code  # verify_system exits with 0, 1 or 2, never a message
    return code, out.getvalue()


def verify_json(*args: str) -> tuple[int, dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    code, out = verify("--json", *args)
    payload = json.loads(out)
    checks = {(c["component"], c["check"]): c for c in payload["checks"]}
    return code, payload, checks


def failures(checks: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    """check name → detail of every FAIL."""
    return {name: c["detail"] for (_, name), c in checks.items() if c["status"] == FAIL}


def test_a_healthy_setup_has_no_failure(healthy: Healthy) -> None:
    code, payload, checks = verify_json()
    assert failures(checks) == {}, failures(checks)
    assert code == 2  # warnings only (no broker, short history, no LLM key)
    assert payload["status"] == {1: FAIL, 2: WARN}[code]
    assert all({"component", "check", "status", "detail", "ms"} <= set(c) for c in checks.values())
    for name in [
        ("database", "connection"),
        ("database", "migrations"),
        ("cache", "redis round trip"),
        ("cache", "read-model cache"),
        ("pipelines", "last EOD and pre-open"),
        ("market data", "settlement freshness"),
        ("book", "journal chain"),
        ("book", "positions = replay of trades"),
        ("book", "NAV bridge"),
        ("backups", "last backup age"),
        ("workflow", "smoke (rolled back)"),
    ]:
        assert checks[name]["status"] == PASS, (name, checks[name]["detail"])
    assert "2025-02-04" in checks[("market data", "settlement freshness")]["detail"]
    assert "pms-20250205-060000" in checks[("backups", "last backup age")]["detail"]
    assert checks[("celery", "broker")]["status"] == WARN  # eager tasks


def test_the_deploy_check_passes_with_production_settings(healthy: Healthy) -> None:
    code, _, checks = verify_json("--only", "settings")
    assert checks[("settings", "deploy checks")]["status"] == PASS, checks
    assert code == 0


def test_deploy_warnings_are_warn_listed_by_id(healthy: Healthy, settings: Settings) -> None:
    """`check --deploy` issues are warnings: reported by id, never a FAIL."""
    settings.SESSION_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    code, _, checks = verify_json("--only", "settings")
    assert code == 2
    deploy = checks[("settings", "deploy checks")]
    assert deploy["status"] == WARN, deploy
    assert deploy["detail"].startswith("check --deploy: 2 warning(s): security.W004, security.W012")


def test_after_a_restore_only_integrity_checks_fail(healthy: Healthy) -> None:
    """restore.sh runs `verify_system --after-restore`: stale data is a warning there, a broken
    chain, replay, NAV bridge or migration still a failure."""
    SettlementPrice.objects.filter(date=D2).delete()
    assert "settlement freshness" in failures(verify_json()[2])

    code, _, checks = verify_json("--after-restore")

    assert failures(checks) == {}
    assert code == 2
    freshness = checks[("market data", "settlement freshness")]
    assert freshness["status"] == WARN
    assert freshness["detail"].startswith("after a restore, not an integrity check: stale")
    entry = Entry.objects.order_by("seq")[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE journal_entry SET note = 'x' WHERE seq = %s", [entry.seq])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    code, _, checks = verify_json("--after-restore")
    assert code == 1 and set(failures(checks)) == {"journal chain"}


TABLE_LINE = re.compile(r"^  (PASS|WARN|FAIL)  (.{30}) +(\d+) ms  (.*)$")


def test_the_table_lists_every_check_and_a_summary(healthy: Healthy) -> None:
    code, out = verify()
    json_code, _, checks = verify_json()
    lines = out.splitlines()
    parsed = {}
    component = None
    for line in lines:
        if line and line == line.upper() and not line.startswith(" "):
            component = line.lower()
        elif match := TABLE_LINE.match(line):
            assert component is not None, f"a check before any component: {line}"
            status, name, _, detail = match.groups()
            parsed[(component, name.strip())] = (status, detail)
    assert parsed.keys() == checks.keys()
    for key, (status, detail) in parsed.items():
        assert (status, detail) == (checks[key]["status"], checks[key]["detail"]), key
    summary = lines[-1]
    counts = {s: sum(c["status"] == s for c in checks.values()) for s in (PASS, WARN, FAIL)}
    expected = {1: "FAILED", 2: "passed with warnings", 0: "all checks passed"}[code]
    assert summary.startswith(
        f"verify_system: {expected} ({counts[PASS]} PASS, {counts[WARN]} WARN, {counts[FAIL]} FAIL)"
    ), summary
    assert code == json_code


def test_only_book_runs_the_book_checks(healthy: Healthy) -> None:
    code, payload, checks = verify_json("--only", "book")
    assert {component for component, _ in checks} == {"book"}
    assert set(name for _, name in checks) == {
        "journal chain",
        "positions = replay of trades",
        "NAV bridge",
        "marks newer than their prices",
    }
    assert code == 0 and payload["status"] == PASS
    table_code, out = verify("--only", "book")
    assert table_code == 0 and "BOOK" in out and "SETTINGS" not in out


# --- one breakage at a time ----------------------------------------------------------------------


def _only_failure(checks: dict[tuple[str, str], dict[str, Any]], name: str) -> str:
    failed = failures(checks)
    assert name in failed, (name, failed)
    return failed[name]


def test_redis_stopped_fails_the_round_trip(healthy: Healthy) -> None:
    healthy.redis.kill()
    code, _, checks = verify_json()
    assert code == 1
    detail = _only_failure(checks, "redis round trip")
    assert "Connection" in detail and str(healthy.redis.port) in detail, detail
    # Only the cache is blamed: the rest of the system still checks out.
    assert set(failures(checks)) <= {"redis round trip", "read-model cache"}, failures(checks)


def test_a_tampered_journal_row_breaks_the_chain_at_that_entry(healthy: Healthy) -> None:
    entry = Entry.objects.order_by("seq")[2]
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the append-only trigger must be bypassed
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"UPDATE {table} SET note = %s WHERE seq = %s", ["edited afterwards", entry.seq]
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    code, _, checks = verify_json()
    assert code == 1
    detail = _only_failure(checks, "journal chain")
    assert detail == (
        f"BROKEN at entry #{entry.seq}: entry #{entry.seq} was altered: "
        "its content no longer matches its hash"
    )
    assert set(failures(checks)) == {"journal chain"}


def test_entries_deleted_from_the_end_fail_the_journal_check_naming_them(healthy: Healthy) -> None:
    """The remaining chain verifies link by link; the pre-open run's anchor shows the loss."""
    head = Entry.objects.order_by("-seq").values_list("seq", flat=True)[0]
    delete_last_entries(2)

    code, _, checks = verify_json()

    assert code == 1
    detail = _only_failure(checks, "journal chain")
    assert detail.startswith(
        f"BROKEN at entry #{head - 1}: entries #{head - 1}–#{head} are missing (2 entries): "
        f"the chain ends at #{head - 2} but the pipeline run preopen 2025-02-05"
    ), detail


def test_the_newest_backup_anchors_the_journal_head(healthy: Healthy, settings: Settings) -> None:
    head = Entry.objects.order_by("-seq").first()
    assert head is not None
    meta = Path(settings.BACKUP_DIR) / "pms-20250205-060000" / "meta.json"
    meta.write_text(json.dumps({"journal_head": {"seq": head.seq, "hash": head.hash}}))
    name = ("backups", "journal head in newest backup")
    code, _, checks = verify_json()
    assert checks[name]["status"] == PASS, checks[name]
    assert checks[name]["detail"] == f"pms-20250205-060000 anchors #{head.seq}: in the chain"

    # The backup was taken later than the database now ends: entries after it are gone.
    meta.write_text(json.dumps({"journal_head": {"seq": head.seq + 3, "hash": "ab" * 32}}))
    code, _, checks = verify_json()
    assert code == 1 and checks[name]["status"] == FAIL
    assert checks[name]["detail"].startswith(
        f"entries #{head.seq + 1}–#{head.seq + 3} are missing (3 entries): the chain ends at "
        f"#{head.seq} but the backup pms-20250205-060000 anchored #{head.seq + 3}"
    )
    # Restoring an older backup than the newest one loses entries on purpose: a warning there.
    code, _, checks = verify_json("--after-restore")
    assert code == 2 and checks[name]["status"] == WARN


def test_an_unapplied_migration_is_named(healthy: Healthy) -> None:
    leaf = max(
        name for app, name in MigrationLoader(connection).graph.leaf_nodes() if app == "journal"
    )
    row = MigrationRecorder.Migration.objects.get(app="journal", name=leaf)
    applied = row.applied
    row.delete()
    try:
        code, _, checks = verify_json()
    finally:
        MigrationRecorder.Migration.objects.create(app="journal", name=leaf, applied=applied)
    assert code == 1
    detail = _only_failure(checks, "migrations")
    assert detail == f"1 unapplied migration(s): journal.{leaf} — run manage.py migrate"
    assert set(failures(checks)) == {"migrations"}
    _, _, again = verify_json("--only", "database")
    assert again[("database", "migrations")]["status"] == PASS


def test_a_missing_settlement_fails_freshness_naming_the_ticker(healthy: Healthy) -> None:
    SettlementPrice.objects.filter(instrument__ticker="WDOH25", date=D2).delete()
    code, _, checks = verify_json()
    assert code == 1
    detail = _only_failure(checks, "settlement freshness")
    assert detail == "stale or missing on 2025-02-04: WDOH25"


def test_prices_go_stale_when_today_moves_on(
    healthy: Healthy, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(NOW + timedelta(days=2), tick=False)  # Friday: Thursday is unpriced
    code, _, checks = verify_json()
    assert code == 1
    detail = _only_failure(checks, "settlement freshness")
    assert detail == "stale or missing on 2025-02-06: WDOH25, CDI fixing, PTAX_SELL fixing"
    pipelines = checks[("pipelines", "last EOD and pre-open")]
    assert pipelines["status"] == WARN and "last run 2025-02-04" in pipelines["detail"]


def test_a_position_that_differs_from_its_trades_is_listed(healthy: Healthy) -> None:
    position = Position.objects.get(portfolio=healthy.portfolio)
    Position.objects.filter(pk=position.pk).update(quantity=7)
    code, _, checks = verify_json()
    assert code == 1
    detail = _only_failure(checks, "positions = replay of trades")
    assert detail.startswith("1 difference(s): ")
    assert "quantity: stored 7" in detail and "trades 10" in detail, detail
    assert f"{position.instrument.ticker} in {position.strategy.name}" in detail


def test_marks_older_than_their_prices_fail_until_the_re_mark_runs(
    healthy: Healthy, bo_carol: Any
) -> None:
    from apps.marketdata.services import override_price
    from apps.ops.remarks import run_remark

    wdo = Instrument.objects.get(ticker="WDOH25")
    override_price(wdo, D2, price=Decimal("5601.00"), reason="B3 republished.", by=bo_carol)
    code, _, checks = verify_json()  # the test's transaction never commits: the task waits
    assert code == 1
    detail = _only_failure(checks, "marks newer than their prices")
    code_ = healthy.portfolio.code
    assert detail.startswith(f"marks older than their prices: {code_} from 2025-02-04 (1 day(s); ")
    assert "re-mark queued" in detail
    assert run_remark(healthy.portfolio.pk) == [D2]
    code, _, checks = verify_json()
    assert checks[("book", "marks newer than their prices")]["status"] == PASS


def test_the_smoke_workflow_also_passes_after_the_close(
    healthy: Healthy, time_machine: TimeMachineFixture
) -> None:
    """Ops runs verify_system after the 18:00 EOD: proposals then belong to the next session
    (they used to expire at once, and the smoke check FAILed every evening)."""
    time_machine.move_to(datetime(2025, 2, 5, 20, 30, tzinfo=SAO_PAULO), tick=False)
    _, _, checks = verify_json("--only", "workflow")
    smoke = checks[("workflow", "smoke (rolled back)")]
    assert smoke["status"] == PASS, smoke["detail"]


def test_the_smoke_workflow_skips_a_contract_expiring_today(
    book_at: BookAt, time_machine: TimeMachineFixture
) -> None:
    """On a WDO expiry day (the first business day of the month) the latest settlements still
    include the expiring contract; a proposal on it for today is refused. Use the next one."""
    expiry = date(2025, 2, 3)  # WDOG25's last trading day
    time_machine.move_to(datetime(2025, 2, 3, 10, 0, tzinfo=SAO_PAULO), tick=False)
    book = book_at(date(2025, 1, 30), "WDOH25", "WDOG25")
    friday = date(2025, 1, 31)
    book.price("WDOH25", friday, "6080.50")
    book.price("WDOG25", friday, "6050.00")  # priced last, same day
    _, _, checks = verify_json("--only", "workflow")
    smoke = checks[("workflow", "smoke (rolled back)")]
    assert smoke["status"] == PASS, smoke["detail"]
    assert smoke["detail"].startswith("opened 1 WDOH25"), smoke["detail"]
    assert expiry.isoformat() not in smoke["detail"]
