"""Drill: a process running the EOD is killed with SIGKILL mid-run; the lease it held expires,
the next trigger (or the beat sweep) marks its run ABANDONED and takes over.

    python -m scripts.drills.worker_kill --portfolio CODE --date YYYY-MM-DD [--hold-step mtm]

On a staging box (DATABASE_URL etc. as the services use them): it starts `manage.py run_eod`
for the portfolio (with `--hold-step`, that step is made to wait, so the kill lands mid-run
however fast the EOD is), waits until the run is RUNNING, SIGKILLs it, shows that a second
`run_eod` meanwhile exits busy (75), that `verify_system` FAILs the overdue run once the lease
has expired, and that the sweep (what beat runs every PIPELINE_SWEEP_MINUTES) takes it over.
It prints its figures and exits non-zero when the system did not hold.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
BUSY_EXIT = 75

# The child: `manage.py run_eod`, optionally with one step held (sleeping) so the kill lands
# in the middle of the run. Everything else is the real command, lease and heartbeat included.
CHILD = """
import sys, time
import django
django.setup()
from django.core.management import call_command
from apps.ops import pipelines
hold = sys.argv[1]
steps = pipelines.PIPELINES["eod"]
if hold not in dict(steps):
    sys.exit(f"no EOD step named {hold!r}: {', '.join(dict(steps))}")
def held(portfolio, day):
    print("holding", hold, flush=True)
    time.sleep(3600)
pipelines.PIPELINES["eod"] = [(n, held if n == hold else f) for n, f in steps]
call_command("run_eod", *sys.argv[2:])
"""


@dataclass
class Figures:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def say(self, line: str, ok: bool = True) -> None:
        self.lines.append(("  " if ok else "! ") + line)
        self.ok &= ok
        print(self.lines[-1], flush=True)


def start_eod(args: list[str], env: dict[str, str], hold: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, hold, *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_eod(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "run_eod", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def wait_running(portfolio_code: str, day: date, timeout: float = 60) -> Any:
    from apps.ops.models import PipelineRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = PipelineRun.objects.filter(
            portfolio__code=portfolio_code, status=PipelineRun.Status.RUNNING
        ).first()
        if run is not None and run.heartbeat_at is not None:
            return run
        time.sleep(0.1)
    raise TimeoutError(f"no RUNNING EOD of {portfolio_code} within {timeout:.0f} s")


def drill(portfolio_code: str, day: date, *, env: dict[str, str], hold: str) -> Figures:
    """The drill itself, against the database `env` points at (the caller's Django too)."""
    from apps.ops.models import PipelineRun
    from apps.ops.pipelines import lease_seconds, stale_runs, sweep
    from apps.ops.verify import run_checks

    figures = Figures()
    args = ["--portfolio", portfolio_code, "--date", day.isoformat()]
    started = time.monotonic()
    child = start_eod(args, env, hold)
    try:
        run = wait_running(portfolio_code, day)
        figures.say(f"EOD RUNNING after {time.monotonic() - started:.1f} s (run #{run.pk})")
        busy = run_eod(args, env)
        figures.say(
            f"a second run_eod while it runs: exit {busy.returncode} (75 = busy)",
            busy.returncode == BUSY_EXIT,
        )
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    killed_at = time.monotonic()
    figures.say(f"SIGKILLed pid {child.pid}; lease {lease_seconds():.0f} s")

    while not stale_runs() and time.monotonic() - killed_at < lease_seconds() * 3:
        time.sleep(0.2)
    figures.say(
        f"run overdue {time.monotonic() - killed_at:.1f} s after the kill",
        bool(stale_runs()),
    )
    verdict = {r.check: r for r in run_checks("pipelines")}
    check = verdict.get("last EOD and pre-open")
    figures.say(
        f"verify_system pipelines: {check.status if check else '?'} "
        f"({(check.detail if check else '')[:100]})",
        check is not None and check.status == "FAIL" and "overdue" in check.detail,
    )

    taken = time.monotonic()
    outcomes = sweep()
    statuses = [o.status for o in outcomes]
    run.refresh_from_db()
    abandoned = run.steps.filter(run_attempt=run.attempt - 1, status="ABANDONED").exists()
    figures.say(
        f"sweep took over in {time.monotonic() - taken:.1f} s: {statuses}; run #{run.pk} "
        f"{run.status}, attempt {run.attempt}, killed step marked ABANDONED: {abandoned}",
        bool(statuses) and run.attempt >= 2 and abandoned and "busy" not in statuses,
    )
    figures.say(
        f"no RUNNING run left: {not PipelineRun.objects.filter(status='RUNNING').exists()}",
        not PipelineRun.objects.filter(status="RUNNING").exists(),
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portfolio", required=True, help="An active portfolio's code.")
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="Business date.")
    parser.add_argument("--hold-step", default="mtm", help="The step the kill lands in.")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_project.settings")
    import django

    django.setup()
    print(f"worker_kill drill: {options.portfolio} EOD {options.date}")
    figures = drill(options.portfolio, options.date, env=dict(os.environ), hold=options.hold_step)
    print("HELD" if figures.ok else "DID NOT HOLD")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
