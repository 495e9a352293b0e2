"""manage.py verify_system [--json] [--only COMPONENT] [--after-restore]

Exit code 0 when every check passes, 1 when any fails, 2 when the worst is a warning. With
--after-restore (what restore.sh runs) only the integrity checks (database, migrations, journal
chain, replay, NAV bridge) can fail; stale data and absent workers are warnings there."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ops.verify import FAIL, PASS, WARN, components, run_checks

COLOURS = {PASS: "\033[32m", WARN: "\033[33m", FAIL: "\033[31m"}


class Command(BaseCommand):
    help = (
        "Check every part of the PMS: settings, database, cache, Celery, pipelines, market "
        "data, the book, backups and a rolled-back smoke workflow."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")
        parser.add_argument("--only", choices=components(), help="Run one component's checks.")
        parser.add_argument(
            "--after-restore",
            action="store_true",
            help="Only integrity checks fail (journal, replay, NAV bridge, migrations); the "
            "others' failures are reported as warnings.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        results = list(run_checks(options["only"], after_restore=options["after_restore"]))
        total_ms = (time.perf_counter() - started) * 1000
        statuses = {r.status for r in results}
        code = 1 if FAIL in statuses else 2 if WARN in statuses else 0
        if options["json"]:
            payload = {
                "status": {0: PASS, 1: FAIL, 2: WARN}[code],
                "ms": round(total_ms, 1),
                "checks": [r.as_dict() for r in results],
            }
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self._table(results, total_ms, code)
        sys.exit(code)

    def _table(self, results: list[Any], total_ms: float, code: int) -> None:
        colour = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False
        current = None
        for r in results:
            if r.component != current:
                current = r.component
                self.stdout.write(f"\n{current.upper()}")
            status = f"{COLOURS[r.status]}{r.status}\033[0m" if colour else r.status
            self.stdout.write(f"  {status:<4}  {r.check:<30} {r.ms:>8.0f} ms  {r.detail}")
        summary = {0: "all checks passed", 1: "FAILED", 2: "passed with warnings"}[code]
        counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in (PASS, WARN, FAIL))
        self.stdout.write(f"\nverify_system: {summary} ({counts}) in {total_ms / 1000:.1f} s")
