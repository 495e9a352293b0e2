"""The morning pack's facts: everything the narrative may say, computed, versioned JSON.

Numbers are rounded here to the precision the pack shows (BRL to cents or units, rates and
percentages to 2 decimals, basis points to 1), so the grounding check compares the narrative
against exactly what a reader can see.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from apps.compliance.models import COUNT_KINDS, Breach
from apps.marketdata.calendar import add_business_days, business_days
from apps.marketdata.models import Fixing, FixingIndex, Instrument, InstrumentKind
from apps.marketdata.queries import effective_prices, previous_price_date
from apps.positions.models import NavRecord, Portfolio, Position
from apps.positions.queries import build_book
from apps.proposals.models import Proposal
from apps.risk.calculations import interpolate_rates
from apps.risk.models import Alert, RiskSnapshot

FACTS_VERSION = "1"
VERTICES = [
    (21, "1m"),
    (63, "3m"),
    (126, "6m"),
    (252, "1y"),
    (504, "2y"),
    (756, "3y"),
    (1260, "5y"),
    (2520, "10y"),
]


def _r(value: Any, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def _curve(day: date) -> dict[int, float]:
    prices = effective_prices(
        day, Instrument.objects.of_kind(InstrumentKind.DI1).values_list("pk", flat=True)
    )
    points = sorted(
        (business_days(day, p.instrument.maturity), float(p.rate))
        for p in prices.values()
        if p.rate is not None and p.instrument.maturity and p.instrument.maturity > day
    )
    if len(points) < 2:
        return {}
    du = np.array([p[0] for p in points], dtype=float)
    rates = np.array([p[1] for p in points])
    levels = interpolate_rates(np.array([v for v, _ in VERTICES], dtype=float), du, rates)
    return {v: float(level) for (v, _), level in zip(VERTICES, levels, strict=True)}


def _latest_fixing(index: str, day: date) -> Fixing | None:
    return Fixing.objects.filter(index=index, date__lte=day).order_by("-date").first()


def market_facts(asof: date) -> dict[str, Any]:
    before = previous_price_date(asof)
    today_curve, prior_curve = _curve(asof), _curve(before) if before else {}
    curve = [
        {
            "vertex": label,
            "du": du,
            "rate_pct": _r(today_curve[du] * 100),
            "change_bp": _r((today_curve[du] - prior_curve[du]) * 10000, 1)
            if du in prior_curve
            else None,
        }
        for du, label in VERTICES
        if du in today_curve
    ]
    ptax, ptax_prev = _latest_fixing(FixingIndex.PTAX_SELL, asof), None
    if ptax is not None:
        ptax_prev = _latest_fixing(FixingIndex.PTAX_SELL, add_business_days(ptax.date, -1))
    cdi = _latest_fixing(FixingIndex.CDI, asof)
    selic = _latest_fixing(FixingIndex.SELIC_TARGET, asof)
    ipca = _latest_fixing(FixingIndex.IPCA_MONTHLY, asof)
    twelve = list(
        Fixing.objects.filter(index=FixingIndex.IPCA_MONTHLY, date__lte=asof)
        .order_by("-date")
        .values_list("value", flat=True)[:12]
    )
    today = effective_prices(asof)
    prior = effective_prices(before) if before else {}
    return {
        "asof": asof.isoformat(),
        "previous": before.isoformat() if before else None,
        "di1_curve": curve,
        "usdbrl": {
            "ptax": _r(ptax.value, 4) if ptax else None,
            "change_pct": _r((ptax.value / ptax_prev.value - 1) * 100)
            if ptax and ptax_prev
            else None,
        },
        "ibovespa": _front(today, prior, (InstrumentKind.IND,)),
        "cdi_pct": _r(cdi.value * 100) if cdi else None,
        "selic_target_pct": _r(selic.value * 100) if selic else None,
        "ipca": {
            "month": ipca.date.strftime("%Y-%m") if ipca else None,
            "monthly_pct": _r(ipca.value * 100) if ipca else None,
            "twelve_months_pct": _r((np.prod([1 + float(v) for v in twelve]) - 1) * 100)
            if len(twelve) == 12
            else None,
        },
        "offshore": _offshore(today, prior),
        "biggest_moves": _biggest_moves(today, prior),
    }


def _change(now: Any, then: Any) -> tuple[float | None, str]:
    if now.rate is not None and then.rate is not None:
        return _r((now.rate - then.rate) * 10000, 1), "bp"
    return _r((now.price / then.price - 1) * 100), "%"


def _front(today: dict[int, Any], prior: dict[int, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
    alive = sorted(
        (p for p in today.values() if p.instrument.kind in kinds),
        key=lambda p: p.instrument.maturity or date.max,
    )
    if not alive:
        return {}
    front = alive[0]
    then = prior.get(front.instrument_id)
    return {
        "ticker": front.instrument.ticker,
        "level": _r(front.price, 0),
        "change_pct": _change(front, then)[0] if then else None,
    }


def _offshore(today: dict[int, Any], prior: dict[int, Any]) -> list[dict[str, Any]]:
    fronts: dict[str, Any] = {}
    for p in today.values():
        if p.instrument.kind != InstrumentKind.OFFSHORE_FUTURE:
            continue
        root = p.instrument.ticker[:-3]
        if root not in fronts or (p.instrument.maturity or date.max) < (
            fronts[root].instrument.maturity or date.max
        ):
            fronts[root] = p
    out = []
    for _root, p in sorted(fronts.items()):
        then = prior.get(p.instrument_id)
        out.append(
            {
                "ticker": p.instrument.ticker,
                "price": _r(p.price),
                "change_pct": _change(p, then)[0] if then else None,
            }
        )
    return out


def _biggest_moves(today: dict[int, Any], prior: dict[int, Any]) -> list[dict[str, Any]]:
    moves = []
    for pk, now in today.items():
        then = prior.get(pk)
        if then is None:
            continue
        change, unit = _change(now, then)
        if change:
            moves.append({"ticker": now.instrument.ticker, "change": change, "unit": unit})
    rates = sorted((m for m in moves if m["unit"] == "bp"), key=lambda m: -abs(m["change"]))
    prices = sorted((m for m in moves if m["unit"] == "%"), key=lambda m: -abs(m["change"]))
    return rates[:3] + prices[:3]


def book_facts(portfolio: Portfolio, asof: date) -> dict[str, Any]:
    book = build_book(portfolio, asof)
    head = book.headline
    if head is None:
        return {}
    rows = sorted(book.rows, key=lambda r: r.day_pnl_brl)

    def row(r: Any) -> dict[str, Any]:
        return {"ticker": r.ticker, "strategy": r.strategy, "pnl": _r(r.day_pnl_brl, 0)}

    def bps(x: Decimal | None) -> float | None:
        return None if x is None else _r(x * 10000, 1)

    return {
        "asof": head.as_of.isoformat(),
        "nav": _r(head.nav, 0),
        "day_pnl": _r(head.day_pnl_brl, 0),
        "day_pnl_bps": bps(head.day_pnl_of_nav),
        "mtd_pnl": _r(head.mtd_pnl_brl, 0),
        "mtd_pnl_bps": bps(head.mtd_pnl_of_nav),
        "ytd_pnl": _r(head.ytd_pnl_brl, 0),
        "ytd_pnl_bps": bps(head.ytd_pnl_of_nav),
        "gross_exposure_pct": _r((head.gross_exposure_of_nav or 0) * 100, 1),
        "open_positions": head.open_positions,
        "top": [row(r) for r in reversed(rows[-3:]) if r.day_pnl_brl > 0],
        "bottom": [row(r) for r in rows[:3] if r.day_pnl_brl < 0],
    }


def risk_facts(portfolio: Portfolio, asof: date) -> dict[str, Any]:
    snapshot = (
        RiskSnapshot.objects.filter(portfolio=portfolio, date__lte=asof).order_by("-date").first()
    )
    alerts = list(Alert.objects.open().filter(portfolio=portfolio).select_related("limit"))
    out: dict[str, Any] = {
        # The measures' parameters are facts too: the narrative names "VaR 99 %", "ES 97.5 %".
        "measures": {"var_confidence_pct": 99, "es_confidence_pct": 97.5, "horizon_days": 1},
        "open_alerts": len(alerts),
        "alerts": [
            {"label": str(a.limit), "level": a.level, "utilisation_pct": _r(a.utilisation * 100, 0)}
            for a in alerts[:5]
        ],
    }
    if snapshot is None:
        return {**out, "snapshot": None}
    report = snapshot.report
    nav = report["nav"] or 1
    worst = min(report["stress"], key=lambda s: s["pnl"]) if report["stress"] else None
    limits = sorted(report.get("limits", []), key=lambda c: -c["utilisation"])
    return {
        **out,
        "snapshot": snapshot.date.isoformat(),
        "var99": _r(report["var99"], 0),
        "var99_pct_nav": _r(report["var99"] / nav * 100),
        "es975": _r(report["es975"], 0),
        "worst_stress": {
            "name": worst["name"],
            "pnl": _r(worst["pnl"], 0),
            "pct_nav": _r(worst["pnl"] / nav * 100),
        }
        if worst
        else None,
        "max_utilisation": {
            "label": limits[0]["label"],
            "pct": _r(limits[0]["utilisation"] * 100, 0),
        }
        if limits
        else None,
        "breaches": [c["label"] for c in limits if c["level"] == "hard"],
    }


def proposal_facts(portfolio: Portfolio, day: date) -> list[dict[str, Any]]:
    pending = Proposal.objects.pending().filter(portfolio=portfolio, business_date=day)
    out = []
    for p in pending.select_related("instrument", "strategy"):
        after = (p.what_if or {}).get("after") or {}
        out.append(
            {
                "id": p.pk,
                "instrument": p.instrument.ticker,
                "side": p.side,
                "quantity": _r(p.quantity, 0),
                "strategy": p.strategy.name,
                "source": p.source,
                "var99_after": _r(after.get("var99"), 0),
                "hard_breaches": (p.what_if or {}).get("hard_breaches", []),
            }
        )
    return out


def expiry_facts(portfolio: Portfolio, day: date) -> list[dict[str, Any]]:
    horizon = add_business_days(day, 5)
    held = (
        Position.objects.open()
        .filter(
            portfolio=portfolio,
            instrument__maturity__isnull=False,
            instrument__maturity__lte=horizon,
        )
        .select_related("instrument")
    )
    return [
        {
            "ticker": p.instrument.ticker,
            "maturity": p.instrument.maturity.isoformat(),
            "business_days": business_days(day, p.instrument.maturity),
            "quantity": _r(p.quantity, 0),
        }
        for p in held
        if p.instrument.maturity
    ]


def calendar_facts(day: date) -> list[dict[str, Any]]:
    from apps.briefings.models import CalendarEvent

    events = CalendarEvent.objects.filter(date__gte=day, date__lte=add_business_days(day, 10))
    return [{"date": e.date.isoformat(), "kind": e.kind, "title": e.title} for e in events]


def quality_facts(portfolio: Portfolio, asof: date) -> list[str]:
    warnings = []
    held = Position.objects.open().filter(portfolio=portfolio).select_related("instrument")
    instruments = {p.instrument_id: p.instrument for p in held}
    priced = effective_prices(asof, instruments)
    for pk, instrument in sorted(instruments.items(), key=lambda kv: kv[1].ticker):
        if pk not in priced:
            warnings.append(f"No settlement price for {instrument.ticker} on {asof:%Y-%m-%d}.")
    for index in (FixingIndex.CDI, FixingIndex.PTAX_SELL):
        if not Fixing.objects.filter(index=index, date=asof).exists():
            warnings.append(f"No {index.label} fixing for {asof:%Y-%m-%d}.")
    return warnings


def compliance_facts(portfolio: Portfolio) -> dict[str, Any]:
    """The fund's open compliance breaches (passive: found by an EOD, not yet cured)."""
    breaches = (
        Breach.objects.filter(portfolio=portfolio)
        .exclude(state=Breach.State.CURED)
        .select_related("rule")
        .order_by("started_on")
    )
    shown = []
    for b in breaches[:5]:
        count = b.rule.kind in COUNT_KINDS
        scale = 1 if count else 100
        shown.append(
            {
                "rule": b.rule.name,
                "severity": b.rule.severity,
                "since": b.started_on.isoformat(),
                "deadline": b.deadline.isoformat(),
                "value": None if b.last_value is None else _r(b.last_value * scale),
                "limit": _r(b.rule.limit * scale),
                "unit": "positions" if count else "% NAV",
                "acknowledged": b.state == Breach.State.ACKNOWLEDGED,
            }
        )
    return {"open_breaches": breaches.count(), "breaches": shown}


def build_facts(portfolio: Portfolio, day: date) -> dict[str, Any]:
    """The facts of the pack that prepares `day`, from the last marked day before it."""
    asof = (
        NavRecord.objects.filter(portfolio=portfolio, date__lt=day)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    facts: dict[str, Any] = {
        "version": FACTS_VERSION,
        "portfolio": {"code": portfolio.code, "name": portfolio.name},
        "business_date": day.isoformat(),
        "asof": asof.isoformat() if asof else None,
        "proposals": proposal_facts(portfolio, day),
        "expiries": expiry_facts(portfolio, day),
        "calendar": calendar_facts(day),
        "compliance": compliance_facts(portfolio),
    }
    if asof is None:
        return {
            **facts,
            "market": {},
            "book": {},
            "risk": {},
            "data_quality": [f"{portfolio} has no marked day before {day:%Y-%m-%d}."],
        }
    return {
        **facts,
        "market": market_facts(asof),
        "book": book_facts(portfolio, asof),
        "risk": risk_facts(portfolio, asof),
        "data_quality": quality_facts(portfolio, asof),
    }
