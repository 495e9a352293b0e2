"""Ops benchmark: `manage.py verify_system --json` on the demo data.

The setup takes the demo fund (scripts/bench/demo.py, shared with the morning-pack bench), then
runs the EOD pipeline for the fund's last marked day (prices, MTM, NAV, attribution,
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
from io import StringIO
from typing import Any

from scripts.bench import BenchOp, Scale, report
from scripts.bench.demo import demo_fund

_STATES: dict[str, Any] = {}


@dataclass(frozen=True)
class VerifyState:
    label: str


def _setup(scale: Scale) -> VerifyState:
    if scale.name in _STATES:
        return _STATES[scale.name]
    from django.conf import settings

    from apps.ops.pipelines import run_pipeline

    started = time.perf_counter()
    fund = demo_fund(scale)
    settings.ANTHROPIC_API_KEY = ""  # never the network
    settings.PIPELINE_RETRY_DELAYS = []
    outcome = run_pipeline("eod", fund.portfolio, fund.last, triggered_by="bench")
    if outcome.status not in ("ran", "already-done"):
        error = outcome.run.error if outcome.run else ""
        raise RuntimeError(f"EOD of {fund.last} did not run: {outcome.status} {error}")
    seconds = time.perf_counter() - started
    report("seed verify", f"[seeded {fund.label} + EOD {fund.last:%d/%m/%Y} in {seconds:.0f} s]")
    _STATES[scale.name] = VerifyState(fund.label)
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
