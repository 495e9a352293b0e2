"""Signal rules: transparent, pre-open trade ideas over stored market data.

Each rule reads the settlements and fixings of the previous business day, and returns
suggestions whose rationale states every number it used. Rules are enabled and sized per
portfolio in the admin (`SignalRule`); `generate_proposals` turns suggestions into pending
proposals, once per rule, instrument and day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.marketdata.calendar import business_days, previous_business_day
from apps.marketdata.models import Fixing, FixingIndex, Instrument, InstrumentKind
from apps.marketdata.queries import effective_prices
from apps.positions.models import Portfolio
from apps.proposals.models import Conviction, Proposal, SignalRule
from apps.proposals.services import Terms, create_proposal

BP = Decimal("10000")


@dataclass(frozen=True)
class Suggestion:
    instrument: Instrument
    side: str
    rationale: str
    conviction: int
    limit_rate: Decimal | None = None
    limit_price: Decimal | None = None


Rule = Callable[[SignalRule, date], list[Suggestion]]
REGISTRY: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        REGISTRY[name] = fn
        return fn

    return register


def _param(signal: SignalRule, key: str, default: str) -> Decimal:
    return Decimal(str((signal.params or {}).get(key, default)))


def _curve(kind: str, asof: date) -> list[tuple[Instrument, Decimal, int]]:
    """(instrument, rate, du) of every contract of `kind` settled on `asof`, by maturity."""
    prices = effective_prices(asof, Instrument.objects.of_kind(kind).values_list("pk", flat=True))
    rows = [
        (p.instrument, p.rate, business_days(asof, p.instrument.maturity))
        for p in prices.values()
        if p.rate is not None and p.instrument.maturity and p.instrument.maturity > asof
    ]
    return sorted(rows, key=lambda r: r[2])


def _pct(x: Decimal, places: int = 3) -> str:
    return f"{x * 100:.{places}f} %"


@rule("di1_carry")
def di1_carry(signal: SignalRule, day: date) -> list[Suggestion]:
    """Receive (long PU) the ~1-year DI1 when it pays well over CDI; pay it when below."""
    asof = previous_business_day(day)
    curve = [c for c in _curve(InstrumentKind.DI1, asof) if c[2] >= 126]
    cdi = Fixing.objects.of(FixingIndex.CDI).filter(date__lte=asof).order_by("-date").first()
    if not curve or cdi is None:
        return []
    target_du = int(_param(signal, "target_du", "252"))
    instrument, rate, du = min(curve, key=lambda c: abs(c[2] - target_du))
    spread = (rate - cdi.value) * BP
    threshold = _param(signal, "min_spread_bp", "75")
    if abs(spread) < threshold:
        return []
    side = "BUY" if spread > 0 else "SELL"
    stance = "receive (long PU, dar taxa)" if spread > 0 else "pay (short PU, tomar taxa)"
    text = (
        f"{instrument.ticker} settled at {_pct(rate)} on {asof:%d/%m/%Y} ({du} du) against "
        f"CDI {_pct(cdi.value, 2)}: carry {spread:+.1f} bp a year, beyond the rule's "
        f"±{threshold:.0f} bp threshold, so {stance}."
    )
    conviction = Conviction.HIGH if abs(spread) >= 2 * threshold else Conviction.MEDIUM
    return [Suggestion(instrument, side, text, conviction, limit_rate=rate)]


@rule("usdbrl_trend")
def usdbrl_trend(signal: SignalRule, day: date) -> list[Suggestion]:
    """Follow the USD/BRL trend: PTAX 20-day average against the 60-day one."""
    asof = previous_business_day(day)
    ptax: list[Decimal] = list(
        Fixing.objects.of(FixingIndex.PTAX_SELL)
        .filter(date__lte=asof)
        .order_by("-date")
        .values_list("value", flat=True)[:60]
    )
    if len(ptax) < 60:
        return []
    fast, slow = sum(ptax[:20], Decimal(0)) / 20, sum(ptax, Decimal(0)) / 60
    gap = (fast / slow - 1) * 100
    threshold = _param(signal, "min_gap_pct", "0.5")
    if abs(gap) < threshold:
        return []
    futures = _curve_by_maturity(InstrumentKind.DOL, asof, day)
    if not futures:
        return []
    instrument = futures[0]
    side = "BUY" if gap > 0 else "SELL"
    text = (
        f"PTAX 20-day average {fast:.4f} vs 60-day {slow:.4f} ({gap:+.2f} %) on "
        f"{asof:%d/%m/%Y}: the dollar is trending {'up' if gap > 0 else 'down'} beyond the "
        f"±{threshold} % threshold, so {side.lower()} {instrument.ticker}."
    )
    conviction = Conviction.HIGH if abs(gap) >= 2 * threshold else Conviction.MEDIUM
    return [Suggestion(instrument, side, text, conviction)]


def _curve_by_maturity(kind: str, asof: date, day: date) -> list[Instrument]:
    """Contracts of `kind` settled on `asof` that are still alive a week after `day`."""
    prices = effective_prices(asof, Instrument.objects.of_kind(kind).values_list("pk", flat=True))
    alive = [
        p.instrument
        for p in prices.values()
        if p.instrument.maturity and business_days(day, p.instrument.maturity) > 5
    ]
    return sorted(alive, key=lambda i: i.maturity or day)


@rule("ipca_breakeven")
def ipca_breakeven(signal: SignalRule, day: date) -> list[Suggestion]:
    """Trade implied inflation (DI1 vs DAP at the same term) against a target band."""
    asof = previous_business_day(day)
    nominal, real = _curve(InstrumentKind.DI1, asof), _curve(InstrumentKind.DAP, asof)
    pairs = [
        (dap, dap_rate, dap_du, di1, di1_rate)
        for dap, dap_rate, dap_du in real
        for di1, di1_rate, di1_du in nominal
        if dap_du >= 126 and abs(di1_du - dap_du) <= 42
    ]
    if not pairs:
        return []
    dap, dap_rate, dap_du, di1, di1_rate = min(pairs, key=lambda p: p[2])
    breakeven = (1 + di1_rate) / (1 + dap_rate) - 1
    target, band = _param(signal, "target", "0.045"), _param(signal, "band", "0.005")
    if abs(breakeven - target) < band:
        return []
    rich = breakeven > target
    side = "SELL" if rich else "BUY"  # rich inflation: pay real (short DAP PU)
    text = (
        f"Breakeven {_pct(breakeven, 2)} from {di1.ticker} {_pct(di1_rate)} and {dap.ticker} "
        f"{_pct(dap_rate)} ({dap_du} du) on {asof:%d/%m/%Y}, vs target {_pct(target, 2)} "
        f"± {_pct(band, 2)}: inflation looks {'rich' if rich else 'cheap'}, so "
        f"{'pay' if rich else 'receive'} the real rate on {dap.ticker}."
    )
    return [Suggestion(dap, side, text, Conviction.MEDIUM, limit_rate=dap_rate)]


@transaction.atomic
def generate_proposals(portfolio: Portfolio, day: date) -> list[Proposal]:
    """Pending proposals from every enabled rule for `day`; idempotent per rule and day."""
    created = []
    for signal in SignalRule.objects.filter(portfolio=portfolio, enabled=True).select_related(
        "strategy"
    ):
        fn = REGISTRY.get(signal.name)
        if fn is None:
            continue
        for idea in fn(signal, day):
            exists = Proposal.objects.filter(
                portfolio=portfolio,
                source=signal.name,
                instrument=idea.instrument,
                business_date=day,
            ).exists()
            if exists:
                continue
            created.append(
                create_proposal(
                    portfolio=portfolio,
                    strategy=signal.strategy,
                    instrument=idea.instrument,
                    terms=Terms(idea.side, signal.size, idea.limit_price, idea.limit_rate),
                    rationale=idea.rationale,
                    business_date=day,
                    source=signal.name,
                    conviction=idea.conviction,
                )
            )
    return created


def rule_names() -> list[tuple[str, Any]]:
    return [(name, fn.__doc__ or name) for name, fn in sorted(REGISTRY.items())]
