"""Replaying a fund's compliance over its marked history at once (a fund's rules installed
after it started, the demo): every day's check kept, the breaches opened and cured as the
EOD would have, read in bulk (four queries for the whole history)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from apps.compliance.engine import Book, Holding, Result, evaluate
from apps.compliance.models import Breach, ComplianceRule, MarginRecord, RuleCheck
from apps.compliance.services import (
    HOLDING_COLUMNS,
    MARGIN_STALE_DAYS,
    active_rules,
    follow_breach,
    holding_of,
    margin_of,
    specs,
)
from apps.core.staleness import basis_now
from apps.marketdata.calendar import add_business_days
from apps.positions.models import DailyMark, NavRecord, Portfolio

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def replay_history(portfolio: Portfolio, *, by: User | None = None) -> dict[str, int]:
    """Evaluate the fund's active rules on every marked day it has no checks for yet, in
    order; returns how many days, checks and breaches it made."""
    rules = active_rules(portfolio)
    basis = basis_now(portfolio.pk).as_dict()  # before the inputs: a write after shows newer
    done = set(RuleCheck.objects.filter(portfolio=portfolio).values_list("date", flat=True))
    navs = {
        n.date: n
        for n in NavRecord.objects.filter(portfolio=portfolio).order_by("date")
        if n.date not in done
    }
    if not rules or not navs:
        return {"days": 0, "checks": 0, "breaches": 0}
    holdings = _holdings(portfolio, set(navs))
    margins = {m.date: m for m in MarginRecord.objects.filter(portfolio=portfolio)}
    checks: list[RuleCheck] = []
    open_: dict[int, Breach] = {
        b.rule_id: b for b in Breach.objects.filter(portfolio=portfolio).exclude(state="CURED")
    }
    opened = 0
    for day, nav in sorted(navs.items()):
        margin, note = _margin_on(margins, day)
        book = Book(tuple(holdings.get(day, ())), nav.nav_close, nav.cash_brl, margin, note)
        for rule, result in zip(rules, evaluate(specs(rules), book), strict=True):
            checks.append(_check(rule, portfolio, day, result, basis))
            opened += follow_breach(open_, rule, result, day, by=by)
    RuleCheck.objects.bulk_create(checks, batch_size=2000)
    return {"days": len(navs), "checks": len(checks), "breaches": opened}


def _holdings(portfolio: Portfolio, days: set[date]) -> dict[date, list[Holding]]:
    rows = (
        DailyMark.objects.filter(portfolio=portfolio, date__gte=min(days))
        .exclude(quantity=0)
        .values_list("date", *HOLDING_COLUMNS)
    )
    by_day: dict[date, list[Holding]] = defaultdict(list)
    for day, *columns in rows:
        if day in days:
            by_day[day].append(holding_of(tuple(columns)))
    return by_day


def _margin_on(margins: dict[date, MarginRecord], day: date) -> tuple[Decimal | None, str]:
    since = add_business_days(day, -MARGIN_STALE_DAYS)
    found = max((d for d in margins if since <= d <= day), default=None)
    return margin_of(margins[found] if found else None, since, day)


def _check(
    rule: ComplianceRule, portfolio: Portfolio, day: date, result: Result, basis: dict[str, int]
) -> RuleCheck:
    return RuleCheck(
        basis=basis,
        rule=rule,
        portfolio=portfolio,
        date=day,
        value=result.value,
        limit=result.limit,
        status=result.status,
        detail=result.detail[:300],
    )
