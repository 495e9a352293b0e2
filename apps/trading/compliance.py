"""The fund's compliance rules in the pre-trade check (an active breach): the marked book of
the what-if's day plus the ticket(s), every active rule before and after.

A ticket that breaks a hard rule, or adds to a hard rule already broken, is refused, and no
approver can release it (CVM 175 allows no active breach); a soft rule warns. A ticket that
reduces a breach, or leaves it as it was, passes: it is how a fund cures one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from apps.compliance.engine import Result
from apps.compliance.models import COUNT_KINDS, RuleKind, Severity
from apps.compliance.services import evaluate_with, holding
from apps.marketdata.models import Instrument
from apps.positions.models import Portfolio
from apps.trading import rules
from apps.trading.rules import BLOCK, PASS, WARN, RuleResult

D = Decimal
RULE = "COMPLIANCE"


def compliance_results(
    portfolio: Portfolio,
    instruments: Sequence[Instrument],
    measured: dict[str, Any] | None,
    why: str,
    unmeasured: str,
) -> list[RuleResult]:
    """One result per active compliance rule of the fund, for the whole basket: `instruments`
    are the tickets' (or proposals'), in the order of the what-if's `trades`."""
    if measured is None or not measured.get("trades"):
        return [rules.not_measured(RULE, why or "no marked book", status=unmeasured)]
    day = date.fromisoformat(str(measured["asof"]))
    added = []
    cash = D(0)
    for instrument, trade in zip(instruments, measured["trades"], strict=True):
        exposure = D(str(trade["exposure"]))
        added.append(holding(instrument, exposure))
        if not instrument.is_future:  # a bond or a share is paid for in cash
            cash -= exposure
    outcome = evaluate_with(portfolio, day, added, cash)
    if outcome is None:
        return [rules.not_measured(RULE, f"no NAV of {portfolio.code} on {day}", status=unmeasured)]
    before, after = outcome
    if not after:
        return [RuleResult(RULE, PASS, f"Compliance: {portfolio.code} has no active rule.")]
    return [_result(b, a) for b, a in zip(before, after, strict=True)]


def _result(before: Result, after: Result) -> RuleResult:
    shown = f"Compliance · {after.name}: {_number(after)} (limit {_limit(after)})"
    limit = after.limit
    hard = after.severity == Severity.HARD
    warn, block = (None, limit) if hard else (limit, None)
    if after.value is None:
        return RuleResult(RULE, rules.NA, f"{shown}: not measured ({after.detail}).")
    if after.worse_than(before):
        was = "" if not before.breaches() else f", {_number(before)} before the trade"
        status = BLOCK if hard else WARN
        kind = "breaks a hard rule" if hard else "breaks a soft rule"
        detail = after.detail[:1].upper() + after.detail[1:]
        message = f"{shown}{was}: this trade {kind}. {detail}."
        return RuleResult(RULE, status, message, after.value, warn, block)
    if after.breaches():
        message = f"{shown}: already over before the trade, which does not add to it."
        return RuleResult(RULE, PASS, message, after.value, warn, block)
    return RuleResult(RULE, PASS, f"{shown}: within.", after.value, warn, block)


def _number(result: Result) -> str:
    if result.value is None:
        return "—"
    if result.kind in COUNT_KINDS:
        return f"{result.value:,.0f} position(s)"
    return f"{result.value * 100:,.2f} % of NAV"


def _limit(result: Result) -> str:
    if result.kind in COUNT_KINDS:
        return f"{result.limit:,.0f}"
    floor = "≥ " if result.kind == RuleKind.MIN_CASH else "≤ "
    return f"{floor}{result.limit * 100:,.2f} %"


def what_if_compliance(
    portfolio: Portfolio, instruments: Sequence[Instrument], measured: dict[str, Any]
) -> dict[str, Any]:
    """What a what-if keeps of compliance (a proposal's): the rules the trade would break."""
    results = compliance_results(portfolio, instruments, measured, "", rules.NA)
    broken = [
        {"status": r.status, "message": r.message} for r in results if r.status in (BLOCK, WARN)
    ]
    return {"rules": sum(r.value is not None for r in results), "broken": broken}
