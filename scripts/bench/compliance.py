"""Compliance benchmark: the EOD's compliance step on the 500-position book of the trading
benchmark (its setup: the default rule set, issuers for the bonds and equities, a B3 margin):
every active rule evaluated on the day's marked book, each check stored, the breaches
followed (`compliance.services.run_compliance`). Target ≤ 500 ms."""

from __future__ import annotations

from typing import Any

from scripts.bench import BenchOp, Scale, report
from scripts.bench.positions import BOOK_DAY, BOOK_POSITIONS
from scripts.bench.trading import _setup as trading_setup

TARGET_MS = 500


def _setup(scale: Scale) -> Any:
    return trading_setup(scale).ticket.portfolio


def _run(portfolio: Any) -> None:
    from apps.compliance.models import Status
    from apps.compliance.services import run_compliance

    results = run_compliance(portfolio, BOOK_DAY)
    broken = sum(r.status in (Status.WARN, Status.BREACH) for r in results)
    report("compliance", f"[{len(results)} rules, {broken} broken]")


OPERATIONS = [
    BenchOp(
        f"compliance: every rule on the {BOOK_POSITIONS}-position book (EOD step)",
        target_ms=TARGET_MS,
        setup=_setup,
        run=_run,
        repeats=5,
    ),
]
