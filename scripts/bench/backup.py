"""Backup benchmarks: `scripts/backup.sh` and `scripts/restore.sh --yes` on the bench database.

The setup seeds the demo market and Demo Macro FIM over 2024 (`seed_demo`'s own steps: users,
market, the fund traded and marked by the engine; idempotent, so repeats, and a run after the
briefings module's 3-year fund, reuse what is there) on top of whatever the other benchmarks
left in the bench database: the backup is of all of it. Both scripts run as the
operator would, as subprocesses in direct mode against the bench database; the restore's
verification is `manage.py verify_journal` (verify_system would judge the bench data's age, not
the restore). Backups go to var/bench/backups, keeping the newest one. PostgreSQL only: on
SQLite the operations report "not applicable".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from scripts.bench import BenchOp, Scale, report
from scripts.bench.demo import END, SEED  # the demo fund's window: after those modules, reused

BASE_DIR = Path(__file__).resolve().parents[2]
YEAR_DAYS = 365


def _backups() -> Path:
    var_dir = Path(os.environ.get("PMS_VAR_DIR") or BASE_DIR / "var")
    return var_dir / "bench" / "backups"


def _env() -> dict[str, str]:
    """The harness's environment (DATABASE_URL is the bench database), in direct mode."""
    settings = ("PMS_USE_COMPOSE", "PMS_BACKUP_DIR", "PMS_BACKUP_KEEP", "PMS_RESTORE_VERIFY")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in settings}
    return environ | {"PMS_RESTORE_VERIFY": "verify_journal"}


def _script(name: str, *args: str) -> str:
    result = subprocess.run(
        [str(BASE_DIR / "scripts" / name), *args],
        env=_env(),
        cwd=BASE_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def _seed(scale: Scale) -> None:
    from apps.demo.options import SeedOptions
    from apps.demo.seeders import SEEDERS

    options = SeedOptions(
        start=END - timedelta(days=scale.size(YEAR_DAYS)),
        end=END,
        years=1,
        seed=SEED,
        reset_passwords=False,
    )
    for step in SEEDERS:
        step(options)


def _rows() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables")
        return int(cursor.fetchone()[0])


def _backup(_: None) -> Path:
    folder = Path(_script("backup.sh", "--dir", str(_backups()), "--keep", "1").splitlines()[-1])
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    dump = (folder / "pms.dump").stat().st_size
    report(
        "backup",
        f"[~{_rows():,} rows; folder {size / 2**20:,.1f} MiB, dump {dump / 2**20:,.1f} MiB]",
    )
    return folder


def _setup_backup(scale: Scale) -> None:
    _seed(scale)
    # No earlier folder of the same second: backup.sh would wait for the next one.
    shutil.rmtree(_backups(), ignore_errors=True)


def _setup_restore(scale: Scale) -> Path:
    _seed(scale)
    latest = sorted(_backups().glob("pms-*"))
    return latest[-1] if latest else _backup(None)


def _run_restore(folder: Path) -> None:
    from django.db import connections

    _script("restore.sh", "--yes", str(folder))
    connections.close_all()  # every table was replaced


def _not_applicable(_: Any) -> None:
    return None


def _operations() -> list[BenchOp]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return [
            BenchOp(
                "backup.sh / restore.sh: not applicable on SQLite (PostgreSQL only)",
                target_ms=None,
                setup=_not_applicable,
                run=_not_applicable,
            )
        ]
    return [
        BenchOp(
            "backup.sh of the bench database (demo fund + the other benches' data)",
            target_ms=None,
            setup=_setup_backup,
            run=_backup,
            repeats=3,
        ),
        BenchOp(
            "restore.sh --yes of that backup (verify_journal)",
            target_ms=None,
            setup=_setup_restore,
            run=_run_restore,
            repeats=3,
        ),
    ]


OPERATIONS = _operations()
