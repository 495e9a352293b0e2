"""Morning pack benchmarks: the facts of the demo fund, and a whole template-narrative pack.

The setup takes the demo fund (scripts/bench/demo.py), then runs risk on the last marked day
and opens two proposals (each with its what-if), as the 06:00 run finds them. Seeding happens
once per scale (a few tens of seconds, reported beside the first operation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from scripts.bench import BenchOp, Scale, report
from scripts.bench.demo import demo_fund

QUERY_TARGET = 40


@dataclass(frozen=True)
class MorningState:
    portfolio: Any
    day: date  # the session the pack prepares: the business day after the last marks
    label: str


_STATES: dict[str, MorningState] = {}


def _setup(scale: Scale) -> MorningState:
    """The demo fund with a risk snapshot and two pending proposals (built once per scale)."""
    if scale.name in _STATES:
        return _STATES[scale.name]
    from apps.marketdata.calendar import next_business_day
    from apps.risk.services import ensure_default_limits, run_risk

    started = time.perf_counter()
    fund = demo_fund(scale)
    ensure_default_limits(fund.portfolio)
    run_risk(fund.portfolio, fund.last)
    day = next_business_day(fund.last)
    _propose(fund.portfolio, day)
    seconds = time.perf_counter() - started
    report("seed morning", f"[seeded {fund.label} + risk + 2 proposals in {seconds:.0f} s]")
    _STATES[scale.name] = MorningState(fund.portfolio, day, fund.label)
    return _STATES[scale.name]


def _propose(portfolio: Any, day: date) -> None:
    """Two pending proposals for the session: add to a DI1 receiver, cut the largest FX line."""
    from django.contrib.auth.models import User

    from apps.positions.models import Position
    from apps.proposals.models import Proposal
    from apps.proposals.services import Terms, create_proposal

    if Proposal.objects.filter(portfolio=portfolio, business_date=day).exists():
        return
    approver = User.objects.get(username="cio_bob")
    held = Position.objects.open().filter(portfolio=portfolio).select_related("instrument")
    di1 = next(p for p in held if p.instrument.kind == "DI1")
    other = next(p for p in held if p.instrument.kind != "DI1" and p.instrument.is_future)
    cut = "SELL" if other.quantity > 0 else "BUY"
    for position, side, quantity in ((di1, "BUY", Decimal("100")), (other, cut, Decimal("10"))):
        create_proposal(
            portfolio=portfolio,
            strategy=position.strategy,
            instrument=position.instrument,
            terms=Terms(side, quantity),
            rationale="Bench: a proposal the pack must list with its what-if.",
            business_date=day,
            by=approver,
        )


def _run_facts(state: MorningState) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.briefings.facts import build_facts

    with CaptureQueriesContext(connection) as queries:
        facts = build_facts(state.portfolio, state.day)
    assert facts["book"] and facts["risk"].get("snapshot") and len(facts["proposals"]) == 2
    count = len(queries.captured_queries)
    flag = "" if count <= QUERY_TARGET else f" > {QUERY_TARGET}: TARGET MISSED"
    report("facts", f"[{state.label}, {count} SQL queries{flag}]")


def _run_pack(state: MorningState) -> None:
    from django.conf import settings

    from apps.briefings.services import generate_morning_pack

    # The template path only: the bench never calls the LLM (no network, no key).
    settings.ANTHROPIC_API_KEY = ""
    settings.MORNING_PACK_EMAIL = False
    pack = generate_morning_pack(state.portfolio, state.day)
    assert pack.source == "template"


OPERATIONS = [
    BenchOp(
        "morning pack facts for the demo fund",
        target_ms=500,
        setup=_setup,
        run=_run_facts,
        repeats=5,
    ),
    BenchOp(
        "morning pack generation, template narrative (facts + text + store + journal)",
        target_ms=None,
        setup=_setup,
        run=_run_pack,
        repeats=3,
    ),
]
