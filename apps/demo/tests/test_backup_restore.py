"""scripts/backup.sh and scripts/restore.sh, run for real against the test database.

The round trip seeds a small demo fund (market, trades, marks, NAV, journal), backs it up,
damages the database, restores, and checks every key table is back row for row: each step is
scripts/drills/backup_restore.py's, the drill these tests also run whole. The scripts run as
subprocesses with DATABASE_URL pointing at pytest-django's test database, so the tests
are transactional (the data must be committed for pg_dump to see it).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader

from apps.core.models import DataVersion
from apps.demo.fund import seed_fund
from apps.demo.options import SeedOptions
from apps.demo.seeders import seed_market
from apps.demo.users import ensure_demo_users
from apps.journal.models import Entry
from apps.journal.services import add_note, verify
from apps.ops.models import CheckResult
from apps.positions.models import Portfolio
from apps.positions.services import replay
from scripts.drills.backup_restore import (
    ROOT,
    _print,
    backup,
    damage,
    fingerprint,
    restore,
    run_drill,
    run_script,
)

PMS_TABLE = re.compile(r"^(marketdata|positions|proposals|journal|risk|attribution|briefings|ops)_")
FOLDER = re.compile(r"^pms-\d{8}-\d{6}$")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="backup.sh and restore.sh work on PostgreSQL (the suite runs on it in CI)",
)
pytestmark = pytest.mark.slow


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def pg_tools() -> None:
    from tests.support import service_missing

    for tool in ("pg_dump", "pg_restore", "psql", "sha256sum"):
        if shutil.which(tool) is None:
            service_missing(f"{tool} is not installed (apt-get install postgresql-client)")


SCRIPT_SETTINGS = ("PMS_USE_COMPOSE", "PMS_BACKUP_DIR", "PMS_BACKUP_KEEP", "PMS_RESTORE_VERIFY")


def script_env(**extra: str) -> dict[str, str]:
    """This process's environment for the scripts: direct mode, no PG* variables, defaults."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in SCRIPT_SETTINGS
    }
    return environ | {"PMS_RESTORE_VERIFY": "verify_journal"} | extra


@pytest.fixture
def env(transactional_db: None, pg_tools: None) -> dict[str, str]:
    """DATABASE_URL at the test database (committed data: the scripts are other processes)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or ''}:{db['PORT']}" if db["PORT"] else db["HOST"] or ""
    return script_env(DATABASE_URL=f"postgres://{auth}@{host}/{quote(db['NAME'], safe='')}")


def seed(end: date, *, fund: bool) -> None:
    """The demo market from 2 January 2025 to `end`, the demo fund on it, a journal note."""
    from django.contrib.auth.models import User

    options = SeedOptions(start=date(2025, 1, 2), end=end, years=1, seed=7, reset_passwords=False)
    ensure_demo_users()
    seed_market(options)
    if fund:
        seed_fund(options)
    add_note(by=User.objects.get(username="pm_alice"), note="Before the roll.", on_date=end)


@pytest.fixture
def fund(env: dict[str, str]) -> Portfolio:
    """Demo Macro FIM over January 2025, traded and marked by the engine."""
    seed(date(2025, 1, 31), fund=True)
    return Portfolio.objects.get(code="demo-macro")


@pytest.fixture
def market(env: dict[str, str]) -> None:
    """A few days of the demo market and a journal entry: quicker, for the refusals."""
    seed(date(2025, 1, 8), fund=False)


def pms_tables() -> set[str]:
    return {t for t in connection.introspection.table_names() if PMS_TABLE.match(t)}


# --- the round trip -----------------------------------------------------------------------------


@postgres_only
def test_backup_then_restore_brings_back_every_row(
    env: dict[str, str], fund: Portfolio, tmp_path: Path
) -> None:
    before = fingerprint()
    assert all(count for count, _ in before.values()), before
    counts = {t: fingerprint((t,))[t][0] for t in pms_tables()}
    market_version = DataVersion.objects.filter(scope="market").values_list("version", flat=True)
    version_before = market_version.first() or 0

    folder = backup(env, tmp_path / "backups")

    assert FOLDER.match(folder.name) and folder.parent == tmp_path / "backups"
    # Recorded for /metrics (the backup-age alert) after the snapshot, so not in the backup
    # (meta.json's counts, below, are those from before it).
    recorded = CheckResult.objects.get(name=CheckResult.Name.BACKUP)
    assert recorded.ok and recorded.detail == str(folder)
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [folder.name]  # no temp left
    assert {p.name for p in folder.iterdir()} == {"pms.dump", "csv", "meta.json", "manifest.sha256"}
    assert {p.stem for p in (folder / "csv").iterdir()} == pms_tables()
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", "manifest.sha256"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {
        line.split(maxsplit=1)[1] for line in (folder / "manifest.sha256").read_text().splitlines()
    }
    assert listed == {"pms.dump", "meta.json"} | {f"csv/{t}.csv" for t in pms_tables()}
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["database"] == connection.settings_dict["NAME"]
    assert meta["server_version"].startswith(str(connection.get_database_version()[0]))
    assert meta["tables"] == counts
    latest = MigrationLoader(connection).graph.leaf_nodes("journal")[0][1]
    assert meta["migrations"]["journal"] == latest
    head = Entry.objects.order_by("-seq").first()
    assert head is not None
    assert meta["journal_head"] == {"seq": head.seq, "hash": head.hash}  # the anchor
    with (folder / "csv" / "positions_trade.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == counts["positions_trade"] and "notes" in rows[0]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # password hashes inside

    damage(delete_last=3)
    assert fingerprint() != before

    result = restore(env, folder)

    assert result.returncode == 0, result.stderr
    assert "Journal chain intact" in result.stdout
    assert "verifying: manage.py verify_journal" in result.stderr
    connections.close_all()
    assert fingerprint() == before
    assert verify() is None
    assert replay(fund) == []
    # Every cache key carries the market version: after the restore it is one never used before.
    assert DataVersion.objects.get(scope="market").version > version_before + 10**9


# --- refusals -----------------------------------------------------------------------------------


def test_backup_into_an_unwritable_folder_fails_and_names_it(
    pg_tools: None, tmp_path: Path
) -> None:
    blocker = tmp_path / "file.txt"  # a regular file: no folder below it, even for root
    blocker.write_text("not a folder\n")
    target = blocker / "backups"
    environ = script_env(DATABASE_URL="postgres://pms@127.0.0.1:5432/pms")

    result = run_script("backup.sh", "--dir", str(target), env=environ)

    assert result.returncode != 0
    assert f"cannot create the backup folder '{target}'" in result.stderr
    assert result.stdout == ""


@postgres_only
def test_restore_refuses_without_confirmation_or_with_a_bad_manifest(
    env: dict[str, str], market: None, tmp_path: Path
) -> None:
    folder = backup(env, tmp_path)
    damage(delete_last=3)
    damaged = fingerprint()

    no_terminal = run_script("restore.sh", str(folder), env=env)
    with (folder / "pms.dump").open("ab") as dump:
        dump.write(b"\0")
    tampered = restore(env, folder)

    assert no_terminal.returncode != 0
    assert "no terminal to ask on; pass --yes" in no_terminal.stderr
    assert tampered.returncode != 0
    assert "does not match its manifest" in tampered.stderr
    assert "restoring" not in no_terminal.stderr + tampered.stderr
    assert fingerprint() == damaged  # untouched


@postgres_only
def test_a_restore_that_fails_midway_leaves_the_database_as_it_was(
    env: dict[str, str], market: None, tmp_path: Path
) -> None:
    folder = backup(env, tmp_path)
    damage(delete_last=3)
    with connection.cursor() as cursor:  # someone's report: DROP TABLE positions_trade fails
        cursor.execute("CREATE VIEW report_trades AS SELECT * FROM positions_trade")
    damaged = fingerprint()
    try:
        result = restore(env, folder)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP VIEW IF EXISTS report_trades")

    assert result.returncode != 0
    assert "depend" in result.stderr and "is as it was" in result.stderr
    assert fingerprint() == damaged


@postgres_only
def test_restore_on_a_terminal_asks_for_the_database_name(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = backup(env, tmp_path)

    def answered(answer: str) -> subprocess.CompletedProcess[str]:
        primary, terminal = os.openpty()
        try:
            os.write(primary, f"{answer}\n".encode())
            return run_script("restore.sh", str(folder), env=env, stdin=terminal)
        finally:
            os.close(primary)
            os.close(terminal)

    wrong = answered("production")
    right = answered(connection.settings_dict["NAME"])

    assert wrong.returncode != 0
    assert "'production' is not" in wrong.stderr and "nothing restored" in wrong.stderr
    assert "Type the database name" in right.stderr
    assert right.returncode == 0, right.stderr
    assert "restoring" in right.stderr


def test_scripts_refuse_the_embedded_sqlite_database(tmp_path: Path) -> None:
    environ = script_env(DATABASE_URL=f"sqlite:///{tmp_path}/pms.sqlite3")

    backed = run_script("backup.sh", "--dir", str(tmp_path), env=environ)
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")
    restored = restore(environ, dump)

    assert backed.returncode != 0
    assert "backup.sh backs up PostgreSQL; for the embedded SQLite copy var/pms.sqlite3" in (
        backed.stderr
    )
    assert restored.returncode != 0 and "restores PostgreSQL" in restored.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["x.dump"]


def test_database_url_is_parsed_into_libpq_variables() -> None:
    script = (
        'source scripts/lib.sh; _parse_database_url "$URL"; '
        'printf "%s|" "$PGUSER" "$PGPASSWORD" "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGSSLMODE"'
    )
    url = "postgres://pms%40ops:p%3As%2Fw%25rd@db.example.com:6543/pms_prod?sslmode=require"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "pms@ops|p:s/w%rd|db.example.com|6543|pms_prod|require|"


# --- retention and the verification command -----------------------------------------------------


@postgres_only
def test_retention_keeps_the_newest_backups_only(env: dict[str, str], tmp_path: Path) -> None:
    for name in ("pms-20240101-000000", "pms-20250101-000000", "pms-20250601-120000"):
        (tmp_path / name).mkdir()
    (tmp_path / "pms-manual-copy").mkdir()  # not a backup.sh name: never touched

    folder = backup(env, tmp_path, "--keep", "2")

    left = {p.name for p in tmp_path.iterdir()}
    assert left == {folder.name, "pms-20250601-120000", "pms-manual-copy"}


@postgres_only
def test_restore_runs_the_verification_command_and_fails_with_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = backup(env, tmp_path)

    checked = restore(env | {"PMS_RESTORE_VERIFY": "check"}, folder)
    failed = restore(env | {"PMS_RESTORE_VERIFY": "no_such_cmd"}, folder)

    assert checked.returncode == 0, checked.stderr
    assert "verifying: manage.py check" in checked.stderr
    assert "System check identified no issues" in checked.stdout
    assert failed.returncode != 0
    assert "verification failed after the restore (manage.py no_such_cmd" in failed.stderr


@postgres_only
def test_a_byte_identical_restore_with_verify_system_succeeds(
    env: dict[str, str], market: None, tmp_path: Path
) -> None:
    """The default verification (verify_system) after restoring the backup just taken: the
    data are stale (January 2025), no worker runs, deploy settings warn; none of that is an
    integrity failure, so the restore reports success."""
    folder = backup(env, tmp_path)
    production = {k: v for k, v in env.items() if k != "PMS_RESTORE_VERIFY"} | {
        "DEBUG": "false",
        "SECRET_KEY": "restore-test-" + "x" * 50,
        "SECURE_HSTS_SECONDS": "0",  # a deploy warning (security.W004)
    }

    result = restore(production, folder)

    assert "verifying: manage.py verify_system --after-restore" in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify_system passed with warnings" in result.stderr
    assert re.search(r"WARN +deploy checks .*security\.W004", result.stdout), result.stdout
    assert re.search(r"WARN +settlement freshness .*after a restore", result.stdout)
    assert re.search(r"PASS +journal chain", result.stdout), result.stdout


# --- compose mode (docker compose faked: the same tools, run here) ------------------------------

FAKE_DOCKER = r"""#!/usr/bin/env bash
# docker compose, faked: `exec -T db` runs the command here as the db service would.
set -euo pipefail
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
[[ $1 == compose ]] || exit 64
shift
[[ $1 != -f ]] || shift 2
case $1 in
  version) echo "Docker Compose version v2 (fake)" ;;
  config) printf '%s\n' db redis migrate web worker ;;
  stop | start) ;;
  exec)
    shift
    [[ $1 == -T && $2 == db ]] || exit 64
    shift 2
    POSTGRES_USER=$FAKE_POSTGRES_USER POSTGRES_DB=$FAKE_POSTGRES_DB exec "$@"
    ;;
  run)
    shift
    while [[ $1 == -* ]]; do shift; done
    [[ $1 == web && $2 == python ]] || exit 64
    shift 2
    exec "$FAKE_PYTHON" "$@"
    ;;
  *) exit 64 ;;
esac
"""


@postgres_only
def test_compose_mode_runs_the_tools_in_the_db_service_and_stops_the_app(
    env: dict[str, str], market: None, tmp_path: Path
) -> None:
    import sys

    db = connection.settings_dict
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    environ = env | {
        "PMS_USE_COMPOSE": "1",
        "PATH": f"{bin_dir}:{env['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "FAKE_POSTGRES_USER": db["USER"],
        "FAKE_POSTGRES_DB": db["NAME"],
        "FAKE_PYTHON": sys.executable,
        "PGHOST": db["HOST"] or "",
        "PGPORT": str(db["PORT"] or 5432),
    }
    if db["PASSWORD"]:
        environ["PGPASSWORD"] = db["PASSWORD"]
    before = fingerprint()

    folder = backup(environ, tmp_path / "backups")
    damage(delete_last=3)
    result = restore(environ, folder)

    assert result.returncode == 0, result.stderr
    connections.close_all()
    assert fingerprint() == before
    calls = log.read_text().splitlines()
    assert any("exec -T db sh -c" in c and " pg_dump -Fc --snapshot=" in c for c in calls)
    restore_at = next(i for i, c in enumerate(calls) if " pg_restore --clean " in c)
    stop_at = next(i for i, c in enumerate(calls) if c.endswith("stop web worker"))
    start_at = next(i for i, c in enumerate(calls) if c.endswith("start web worker"))
    verify_at = next(
        i for i, c in enumerate(calls) if "run --rm --no-deps -T web python manage.py" in c
    )
    assert stop_at < restore_at < start_at < verify_at


# --- the drill (fast form of scripts/drills/backup_restore.py) -----------------------------------


@postgres_only
def test_drill_backup_damage_restore_verify(
    env: dict[str, str], market: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last three journal entries deleted past the guard are named by verify_journal
    --backup and verify_system, TRUNCATE is refused, and restore.sh brings everything back."""
    from django.contrib.auth.models import User

    alice = User.objects.get(username="pm_alice")
    for i in range(4):
        add_note(by=alice, note=f"Drill note {i}.", on_date=date(2025, 1, 8))
    head = Entry.objects.order_by("-seq").values_list("seq", flat=True)[0]

    figures = run_drill(env, tmp_path / "backups", delete_last=3)
    _print(figures)

    assert figures.problems == [], "\n".join(figures.lines() + figures.problems)
    assert figures.truncate_refused
    assert figures.deleted == [head - 2, head - 1, head]
    missing = f"entries #{head - 2}–#{head} are missing (3 entries)"
    assert missing in figures.detected_by_backup
    assert missing in figures.detected_by_system
    assert figures.tables_equal and "intact" in figures.anchor_after
    assert "held" in capsys.readouterr().out
