"""The compliance page's read model (and its API's): a fund's rules with their check of the
day, each rule's utilisation over the last year of checks, and its open and past breaches."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from apps.compliance import engine
from apps.compliance.models import COUNT_KINDS, Breach, ComplianceRule, RuleCheck, RuleKind
from apps.core.staleness import Basis, staleness
from apps.marketdata.calendar import business_days
from apps.positions.models import Portfolio

HISTORY = 252  # checks per rule in the chart: a year of business days


def utilisation(kind: str, value: Decimal | None, limit: Decimal) -> float | None:
    """The engine's use of the limit, as a float for the page and the chart."""
    used = engine.utilisation(kind, value, limit)
    return None if used is None else float(used)


def compliance_view(portfolio: Portfolio, day: date | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain numbers (fractions: 0.0123 = 1.23 %) and dates."""
    checks = RuleCheck.objects.filter(portfolio=portfolio)
    as_of = day or checks.order_by("-date").values_list("date", flat=True).first()
    rules = list(ComplianceRule.objects.filter(portfolio=portfolio, active=True))
    today = {c.rule_id: c for c in checks.filter(date=as_of)} if as_of else {}
    history: dict[int, list[tuple[date, float | None, str]]] = defaultdict(list)
    if as_of:
        recent = checks.filter(date__lte=as_of).order_by("-date").values_list("date", flat=True)
        since = list(recent.distinct()[:HISTORY])
        kinds = {r.pk: r.kind for r in rules}
        for c in checks.filter(date__in=since, rule__in=rules).order_by("date"):
            history[c.rule_id].append(
                (c.date, utilisation(kinds[c.rule_id], c.value, c.limit), c.status)
            )
    rows = [_row(rule, today.get(rule.pk), history[rule.pk]) for rule in rules]
    checked = min(today.values(), key=lambda c: c.checked_at, default=None)
    breaches = Breach.objects.filter(portfolio=portfolio).select_related("rule", "acknowledged_by")
    return {
        "portfolio": {"code": portfolio.code, "name": portfolio.name},
        "as_of": as_of,
        "computed_at": checked.checked_at if checked else None,
        **_freshness(portfolio, checked),
        "rules": rows,
        "counts": {
            "rules": len(rows),
            "hard": sum(r["status"] == "BREACH" for r in rows),
            "soft": sum(r["status"] == "WARN" for r in rows),
            "not_measured": sum(r["status"] == "NA" for r in rows),
        },
        "open_breaches": [_breach(b, as_of) for b in breaches if _open_on(b, as_of)],
        "past_breaches": [_breach(b, as_of) for b in breaches if _cured_by(b, as_of)][:20],
    }


def _freshness(portfolio: Portfolio, check: RuleCheck | None) -> dict[str, Any]:
    """Whether the day's checks are stale: its book or prices changed after the earliest."""
    if check is None:
        return {"stale": False, "stale_reason": ""}
    basis = Basis.of(check.basis)
    return staleness(portfolio.pk, basis, through=check.date, book_through=check.date).as_dict()


def _row(
    rule: ComplianceRule, check: RuleCheck | None, history: list[tuple[date, float | None, str]]
) -> dict[str, Any]:
    value = None if check is None or check.value is None else check.value
    return {
        "code": rule.code,
        "name": rule.name,
        "kind": rule.kind,
        "kind_label": rule.get_kind_display(),
        "scope": rule.scope,
        "severity": rule.severity,
        "legal_basis": rule.legal_basis,
        "limit": float(rule.limit),
        "count": rule.kind in COUNT_KINDS,
        "floor": rule.kind == RuleKind.MIN_CASH,
        "value": None if value is None else float(value),
        "utilisation": utilisation(rule.kind, value, rule.limit),
        "status": check.status if check else "NA",
        "detail": check.detail if check else "Not checked on this day.",
        "history": [{"date": d.isoformat(), "utilisation": u, "status": s} for d, u, s in history],
    }


def _open_on(breach: Breach, day: date | None) -> bool:
    """Open on `day` (the page may look at an earlier day than today)."""
    if day is None or breach.started_on > day:
        return False
    return breach.cured_on is None or breach.cured_on > day


def _cured_by(breach: Breach, day: date | None) -> bool:
    return day is not None and breach.cured_on is not None and breach.cured_on <= day


def _breach(breach: Breach, as_of: date | None) -> dict[str, Any]:
    cured = _cured_by(breach, as_of)
    end = (breach.cured_on if cured else as_of) or breach.last_seen_on
    return {
        "id": breach.pk,
        "rule": breach.rule.code,
        "rule_name": breach.rule.name,
        "severity": breach.rule.severity,
        "state": breach.state if cured or breach.is_open else Breach.State.OPEN,
        "started_on": breach.started_on,
        "deadline": breach.deadline,
        "cured_on": breach.cured_on if cured else None,
        "business_days": business_days(breach.started_on, end),
        "overdue": not cured and as_of is not None and as_of > breach.deadline,
        "worst_value": None if breach.worst_value is None else float(breach.worst_value),
        "last_value": None if breach.last_value is None else float(breach.last_value),
        "acknowledged_by": breach.acknowledged_by.get_username()
        if breach.acknowledged_by
        else None,
        "acknowledged_note": breach.acknowledged_note,
    }
