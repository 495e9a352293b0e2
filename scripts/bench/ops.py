"""Ops benchmark: `manage.py verify_system --json` on the demo data.

The setup seeds the real demo (users, market, Demo Macro FIM traded and marked by the engine)
over 3 years at full scale (about 10 % of that at `small`), with the same window and seed as
scripts/bench/briefings.py, so after that module it reuses the fund instead of seeding again;
then it runs the EOD pipeline for the fund's last marked day (prices, MTM, NAV, attribution,
risk, cache warm-up), as verify_system finds it after 18:00. Built once per scale.

verify_system checks everything in the database: run alone (`--only verify_system`) the figure
is the demo's; in a whole `make bench` it also walks what the other modules left (the 100,000
entry journal, the large synthetic book). The data end on 31/12/2024, so the freshness checks
report stale prices: the exit code is 1 and is not what is measured (only a crash is an error).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from typing import Any

from scripts.bench import BenchOp, Scale, report

END = date(2024, 12, 31)  # as scripts/bench/briefings.py: its demo fund is reused
YEARS = 3
SEED = 7
_STATES: dict[str, Any] = {}


@dataclass(frozen=True)
class VerifyState:
    label: str


def _setup(scale: Scale) -> VerifyState:
    if scale.name in _STATES:
        return _STATES[scale.name]
    from django.conf import settings

    from apps.marketdata.management.commands.seed_demo import SeedOptions, seed_market
    from apps.ops.demo_users import ensure_demo_users
    from apps.ops.pipelines import run_pipeline
    from apps.positions.demo import seed_fund
    from apps.positions.models import NavRecord, Portfolio

    started = time.perf_counter()
    start = END - timedelta(days=scale.size(365 * YEARS))
    options = SeedOptions(start=start, end=END, years=YEARS, seed=SEED, reset_passwords=False)
    ensure_demo_users()
    seed_market(options)
    seed_fund(options)
    portfolio = Portfolio.objects.get(code="demo-macro")
    last = NavRecord.objects.filter(portfolio=portfolio).latest("date").date
    settings.ANTHROPIC_API_KEY = ""  # never the network
    settings.PIPELINE_RETRY_DELAYS = []
    outcome = run_pipeline("eod", portfolio, last, triggered_by="bench")
    if outcome.status not in ("ran", "already-done"):
        error = outcome.run.error if outcome.run else ""
        raise RuntimeError(f"EOD of {last} did not run: {outcome.status} {error}")
    seconds = time.perf_counter() - started
    label = f"demo fund {start:%d/%m/%Y}–{last:%d/%m/%Y}"
    report("seed", f"[seeded {label} + EOD {last:%d/%m/%Y} in {seconds:.0f} s]")
    _STATES[scale.name] = VerifyState(label)
    return _STATES[scale.name]


def _run(state: VerifyState) -> None:
    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("verify_system", "--json", stdout=out, stderr=StringIO())
        code = 0
    except SystemExit as exited:
        code = int(exited.code or 0)
    payload = json.loads(out.getvalue())  # a crash (bad JSON) is the harness's ERROR
    counts = {s: sum(c["status"] == s for c in payload["checks"]) for s in ("PASS", "WARN", "FAIL")}
    slowest = max(payload["checks"], key=lambda c: c["ms"])
    failed = ", ".join(c["check"] for c in payload["checks"] if c["status"] == "FAIL") or "none"
    report(
        "verify",
        f"[exit {code}: {counts['PASS']} PASS, {counts['WARN']} WARN, {counts['FAIL']} FAIL "
        f"({failed}); slowest: {slowest['check']} {slowest['ms']:,.0f} ms]",
    )


OPERATIONS = [
    BenchOp(
        "verify_system --json on the demo data",
        target_ms=10_000,
        setup=_setup,
        run=_run,
        repeats=3,
    ),
]
