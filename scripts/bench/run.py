"""Run the benchmarks: `python -m scripts.bench.run [--only NAME] [--scale small|full]`.

Uses its own database so the figures never touch (or depend on) real data: with DATABASE_URL
set, the same server's `<name>_bench` database (created if missing, flushed each run); else a
fresh SQLite file at var/bench/bench.sqlite3. Prints a table and writes var/bench.json.
Exit code 0 even when a target is missed (it is a report); 1 if an operation crashed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scripts.bench import NOTES, SCALES, BenchOp, Scale

BASE_DIR = Path(__file__).resolve().parents[2]
MODULES = [
    "scripts.bench.marketdata",
    "scripts.bench.positions",
    "scripts.bench.risk",
    "scripts.bench.trading",
    "scripts.bench.compliance",
    "scripts.bench.intraday",
    "scripts.bench.attribution",
    "scripts.bench.briefings",
    "scripts.bench.journal",
    "scripts.bench.ops",
    "scripts.bench.cache",
    "scripts.bench.warming",
    "scripts.bench.canvas",  # real Celery workers on the 200-fund firm (issue 17 §3)
    "scripts.bench.backup",  # last: its restore replaces every table
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="Run only operations whose name contains this text.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    args = parser.parse_args(argv)

    var_dir = Path(os.environ.get("PMS_VAR_DIR") or BASE_DIR / "var")
    database = _use_bench_database(var_dir)
    # Its own cache keys: never a server's entries, and none of an earlier run's (below).
    os.environ["CACHE_KEY_PREFIX"] = "pms-bench"
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # DEBUG=true only lets the settings load without production secrets. With DEBUG on,
    # Django formats and keeps every SQL statement (~20 % of a bulk import); time what
    # production runs instead.
    settings.DEBUG = False

    # Operations log at INFO (an import's summary); keep the table readable.
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor != "sqlite":
        from apps.journal.guard import flush_past_the_journal_guard

        with flush_past_the_journal_guard():  # the journal refuses TRUNCATE otherwise
            call_command("flush", verbosity=0, interactive=False)
    _forget_cached_read_models()

    scale = SCALES[args.scale]
    operations = [
        op for op in _operations() if not args.only or args.only.lower() in op.name.lower()
    ]
    if not operations:
        print(f"No operation matches {args.only!r}.", file=sys.stderr)
        return 2
    print(f"Benchmarks on {database} ({connection.vendor}), scale {scale.name}\n")
    results = [_measure(op, scale) for op in operations]
    _print_table(results)
    report = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "scale": scale.name,
        "database": {"vendor": connection.vendor, "name": database},
        "machine": _machine(),
        "operations": results,
    }
    out = var_dir / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {out}")
    return 1 if any(r["status"] == "ERROR" for r in results) else 0


def _use_bench_database(var_dir: Path) -> str:
    """Point DATABASE_URL at the bench database before Django reads it; returns its name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_project.settings")
    os.environ.setdefault("DEBUG", "true")
    url = os.environ.get("DATABASE_URL", "").strip()
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        name = parts.path.lstrip("/") + "_bench"
        _create_postgres_database(url, name)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        return name
    path = var_dir / "bench" / "bench.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob("bench.sqlite3*"):
        stale.unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{path.resolve()}"
    return str(path)


def _create_postgres_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _forget_cached_read_models() -> None:
    """A flushed database starts its data versions again at 1: read models an earlier run
    cached under those versions (in Redis) would be served as if they were this run's."""
    from django.conf import settings
    from django.core.cache import caches

    for alias in {settings.READ_MODEL_CACHE, "default"}:
        backend = caches[alias]
        if hasattr(backend, "delete_pattern"):
            backend.delete_pattern("rm:*")
        else:
            backend.clear()


def _setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _operations() -> list[BenchOp]:
    ops: list[BenchOp] = []
    for module in MODULES:
        ops += importlib.import_module(module).OPERATIONS
    return ops


def _measure(op: BenchOp, scale: Scale) -> dict[str, Any]:
    target = None if op.target_ms is None else op.target_ms * scale.fraction
    times: list[float] = []
    NOTES.clear()
    print(f"  {op.name} …", end="", flush=True)
    try:
        for _ in range(op.repeats):
            state = op.setup(scale)
            started = time.perf_counter()
            measured = op.run(state)
            wall = (time.perf_counter() - started) * 1000
            times.append(measured if isinstance(measured, float) else wall)
    except Exception:
        print(" ERROR")
        traceback.print_exc()
        return _result(op, scale, times, target, "ERROR")
    median = statistics.median(times)
    status = "—" if target is None else ("PASS" if median <= target else "FAIL")
    print(f" {_ms(median)} ms")
    return _result(op, scale, times, target, status)


def _result(
    op: BenchOp, scale: Scale, times: list[float], target: float | None, status: str
) -> dict[str, Any]:
    return {
        "name": op.name,
        "scale": scale.name,
        "repeats": len(times),
        "times_ms": [round(t, 1) for t in times],
        "median_ms": round(statistics.median(times), 1) if times else None,
        "target_ms": target,
        "status": status,
        "notes": list(NOTES),
    }


def _ms(value: float | None) -> str:
    """Whole milliseconds, with a tenth below 10 ms (a 3 ms target needs it)."""
    if value is None:
        return "—"
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def _print_table(results: list[dict[str, Any]]) -> None:
    header = ("operation", "scale", "n", "median ms", "target ms", "result")
    rows = [
        (
            r["name"],
            r["scale"],
            str(r["repeats"]),
            _ms(r["median_ms"]),
            _ms(r["target_ms"]),
            r["status"] if r["status"] != "FAIL" else "FAIL  <<<",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {2, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    print()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _machine() -> dict[str, Any]:
    import django

    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "django": django.get_version(),
    }


if __name__ == "__main__":
    sys.exit(main())
