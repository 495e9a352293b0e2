"""Drill: backup → damage → restore → verify, against the database in DATABASE_URL.

  .venv/bin/python -m scripts.drills.backup_restore --yes [--dir DIR] [--delete-last N]

1. backup: scripts/backup.sh into DIR (default PMS_BACKUP_DIR, else backups/);
2. damage, as an attacker with database rights would: TRUNCATE of the journal (must be
   refused), then the append-only guard switched off and the last N journal entries deleted,
   trade notes rewritten, the latest day's settlements, marks and NAV deleted (every key
   table is hit, so step 5 shows each one restored);
3. detect: `verify_journal --backup DIR` must FAIL naming exactly the deleted entries (the
   backup's meta.json anchors the head), and so must `verify_system` (its journal chain
   check, against the runs' and packs' anchors, or its newest-backup check);
4. restore: scripts/restore.sh --yes DIR (its default verification, verify_system
   --after-restore, must pass);
5. verify: every key table is back row for row and the chain matches the backup's anchor.

It DESTROYS data in the target database (then restores it): run it on a staging copy, never on
production, with the app stopped. It needs a superuser (session_replication_role) and the
PostgreSQL client tools. Prints its figures; exits 1 when the system did not hold.

Each step is a function (`backup`, `damage`, `restore`, `fingerprint`) that
apps/demo/tests/test_backup_restore.py drives too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# verify_system's checks that compare the chain with an anchor (the database's, the backup's).
JOURNAL_CHECKS = ("journal chain", "journal head in newest backup")
KEY_TABLES = (
    "marketdata_settlementprice",
    "positions_trade",
    "positions_dailymark",
    "positions_navrecord",
    "journal_entry",
)


@dataclass
class Figures:
    entries: int = 0
    backup_s: float = 0.0
    backup_mb: float = 0.0
    truncate_refused: bool = False
    deleted: list[int] = field(default_factory=list)
    detected_by_backup: str = ""
    detected_by_system: str = ""
    restore_s: float = 0.0
    restore_verification: str = ""
    tables_equal: bool = False
    anchor_after: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        span = f"#{self.deleted[0]}–#{self.deleted[-1]}" if self.deleted else "none"
        return [
            f"journal entries before        {self.entries:,}",
            f"backup                        {self.backup_s:.1f} s, {self.backup_mb:.1f} MB",
            f"TRUNCATE journal_entry        {'refused' if self.truncate_refused else 'ALLOWED'}",
            f"entries deleted from the end  {len(self.deleted)} ({span})",
            f"verify_journal --backup       {self.detected_by_backup or '-'}",
            f"verify_system                 {self.detected_by_system or '-'}",
            f"restore + verify_system       {self.restore_s:.1f} s, {self.restore_verification}",
            f"key tables after restore      {'identical' if self.tables_equal else 'DIFFER'}",
            f"chain after restore           {self.anchor_after or '-'}",
        ]


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    python = ROOT / ".venv" / "bin" / "python"
    return subprocess.run(
        [str(python if python.exists() else sys.executable), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def run_script(
    name: str, *args: str, env: dict[str, str], stdin: int = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    """scripts/NAME ARGS; by default with no terminal on stdin (as cron or CI would)."""
    return subprocess.run(
        [str(ROOT / "scripts" / name), *args],
        cwd=ROOT,
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )


class ScriptFailed(RuntimeError):
    """A script exited with an error; the message ends with the end of its stderr."""


def backup(env: dict[str, str], target: Path, *args: str) -> Path:
    """scripts/backup.sh into `target` (ARGS such as `--keep N`); the folder it wrote."""
    made = run_script("backup.sh", "--dir", str(target), *args, env=env)
    if made.returncode != 0:
        raise ScriptFailed(f"backup.sh failed: {made.stderr.strip()[-300:]}")
    return Path(made.stdout.splitlines()[-1])


def restore(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """scripts/restore.sh --yes FOLDER: confirmed, followed by its verification command."""
    return run_script("restore.sh", "--yes", str(folder), env=env)


def fingerprint(tables: tuple[str, ...] = KEY_TABLES) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the sorted row texts of each table."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) "
                f"FROM (SELECT t::text AS r FROM {table} AS t) AS rows"
            )
            found[table] = cursor.fetchone()
    return found


def _try_truncate() -> bool:
    """True when PostgreSQL refused TRUNCATE of the journal (14 §4.1)."""
    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE journal_entry")
            raise _Undo  # it went through: put the rows back
    except _Undo:
        return False
    except DatabaseError as error:
        return "append-only" in str(error)


class _Undo(Exception):
    pass


def damage(delete_last: int) -> list[int]:
    """Delete the last `delete_last` journal entries past the guard and spoil every other key
    table; the seqs deleted."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "DELETE FROM journal_entry WHERE seq > (SELECT max(seq) FROM journal_entry) - %s "
            "RETURNING seq",
            [delete_last],
        )
        deleted = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("UPDATE positions_trade SET notes = 'edited after the backup'")
        for table in ("marketdata_settlementprice", "positions_dailymark", "positions_navrecord"):
            cursor.execute(f"DELETE FROM {table} WHERE date = (SELECT max(date) FROM {table})")
    return deleted


def _last_line(text: str, pattern: str) -> str:
    hits = [line.strip() for line in text.splitlines() if re.search(pattern, line)]
    return hits[-1][:220] if hits else ""


def run_drill(env: dict[str, str], backup_dir: Path, *, delete_last: int = 3) -> Figures:
    """The drill, against the database both this process (Django) and `env` point at."""
    from django.db import connections

    from apps.journal.models import Entry

    figures = Figures(entries=Entry.objects.count())
    if figures.entries <= delete_last:
        figures.problems.append(f"the journal holds {figures.entries} entries: too few to drill")
        return figures
    env = env | {"PMS_BACKUP_DIR": str(backup_dir)}
    env.pop("PMS_RESTORE_VERIFY", None)
    before = fingerprint()

    started = time.perf_counter()
    try:
        folder = backup(env, backup_dir)
    except ScriptFailed as failed:
        figures.problems.append(str(failed))
        return figures
    finally:
        figures.backup_s = time.perf_counter() - started
    figures.backup_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6

    figures.truncate_refused = _try_truncate()
    if not figures.truncate_refused:
        figures.problems.append("TRUNCATE journal_entry was not refused")
    figures.deleted = damage(delete_last)
    connections.close_all()  # the scripts and commands below are other processes

    wanted = f"#{figures.deleted[0]}–#{figures.deleted[-1]} are missing ({delete_last} entries)"
    by_backup = _manage(env, "verify_journal", "--backup", str(folder))
    figures.detected_by_backup = _last_line(by_backup.stderr, "BROKEN") or "NOT DETECTED"
    if by_backup.returncode == 0 or wanted not in by_backup.stderr:
        figures.problems.append(f"verify_journal --backup did not name {wanted}")
    by_system = _manage(env, "verify_system", "--json")
    journal_failures = [
        f"{c['check']}: {c['detail']}"[:220]
        for c in json.loads(by_system.stdout or "{}").get("checks", [])
        if c["check"] in JOURNAL_CHECKS and c["status"] == "FAIL"
    ]
    figures.detected_by_system = "; ".join(journal_failures) or "NOT DETECTED"
    if by_system.returncode != 1 or not any(wanted in f for f in journal_failures):
        figures.problems.append(f"verify_system did not FAIL naming {wanted}")

    started = time.perf_counter()
    restored = restore(env, folder)
    figures.restore_s = time.perf_counter() - started
    figures.restore_verification = (
        _last_line(restored.stdout, r"^verify_system:") or f"exit {restored.returncode}"
    )
    if restored.returncode != 0:
        figures.problems.append(f"restore.sh failed: {restored.stderr.strip()[-300:]}")
    connections.close_all()

    figures.tables_equal = fingerprint() == before
    if not figures.tables_equal:
        figures.problems.append("the key tables differ from the backup after the restore")
    after = _manage(env, "verify_journal", "--backup", str(folder))
    figures.anchor_after = _last_line(after.stdout, "intact") or _last_line(after.stderr, ".")
    if after.returncode != 0:
        figures.problems.append("verify_journal --backup fails after the restore")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.drills.backup_restore",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--yes", action="store_true", help="Required: the drill damages data.")
    parser.add_argument("--dir", type=Path, help="Backup folder (default PMS_BACKUP_DIR).")
    parser.add_argument("--delete-last", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    if not args.yes:
        parser.error("this drill deletes and restores data in DATABASE_URL: pass --yes")
    if args.delete_last < 1:
        parser.error("--delete-last must be at least 1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_project.settings")
    import django

    django.setup()
    from django.conf import settings

    backup_dir = (args.dir or Path(settings.BACKUP_DIR)).resolve()
    figures = run_drill(dict(os.environ), backup_dir, delete_last=args.delete_last)
    _print(figures)
    return 0 if figures.held else 1


def _print(figures: Any) -> None:
    print("Drill: backup → damage → restore → verify")
    for line in figures.lines():
        print(f"  {line}")
    for problem in figures.problems:
        print(f"  PROBLEM: {problem}")
    print("held" if figures.held else "DID NOT HOLD")


if __name__ == "__main__":
    sys.exit(main())
