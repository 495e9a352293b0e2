"""Evaluating a fund's compliance rules: on its marked book (the EOD: every check kept, passive
breaches opened, updated and cured) and on a book plus tickets (the pre-trade check)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from apps.compliance.defaults import DEFAULT_RULES
from apps.compliance.engine import Book, Holding, Result, RuleSpec, evaluate
from apps.compliance.models import Breach, ComplianceRule, MarginRecord, RuleCheck, Status
from apps.core.roles import Role, has_role
from apps.core.staleness import basis_now
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import add_business_days
from apps.marketdata.models import Instrument
from apps.positions.models import DailyMark, NavRecord, Portfolio
from apps.risk.services import journal_setting_change, save_setting

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RULE_FIELDS: tuple[str, ...] = (
    "code",
    "name",
    "kind",
    "scope",
    "limit",
    "severity",
    "cure_days",
    "active",
)
RULE_FIELDS += ("legal_basis",)
MARGIN_STALE_DAYS = 5  # business days a margin figure is read for after its date


def specs(rules: Iterable[ComplianceRule]) -> list[RuleSpec]:
    return [
        RuleSpec(r.code, r.name, r.kind, tuple(r.scope_values), r.limit, r.severity) for r in rules
    ]


def active_rules(portfolio: Portfolio) -> list[ComplianceRule]:
    return list(ComplianceRule.objects.filter(portfolio=portfolio, active=True))


def holding(instrument: Instrument, exposure: Decimal) -> Holding:
    issuer = instrument.issuer
    return Holding(
        ticker=instrument.ticker,
        kind=instrument.kind,
        asset_class=instrument.asset_class,
        exposure=exposure,
        issuer=issuer.name if issuer else None,
        issuer_kind=issuer.kind if issuer else None,
        foreign=instrument.foreign,
    )


# A mark's columns a holding is made of (bare values: a pre-trade check reads the whole book).
HOLDING_COLUMNS = (
    "position__instrument__ticker",
    "position__instrument__kind",
    "position__instrument__asset_class",
    "exposure_brl",
    "position__instrument__issuer__name",
    "position__instrument__issuer__kind",
    "position__instrument__foreign",
)


def holding_of(row: tuple[Any, ...]) -> Holding:
    """A holding from a mark's HOLDING_COLUMNS."""
    ticker, kind, asset_class, exposure, issuer, issuer_kind, foreign = row
    return Holding(ticker, kind, asset_class, exposure, issuer, issuer_kind, foreign)


def book_on(portfolio: Portfolio, day: date) -> Book | None:
    """The fund's marked book of `day` (None without a NAV that day)."""
    nav = NavRecord.objects.filter(portfolio=portfolio, date=day).first()
    if nav is None:
        return None
    rows = (
        DailyMark.objects.filter(portfolio=portfolio, date=day)
        .exclude(quantity=0)
        .values_list(*HOLDING_COLUMNS)
    )
    holdings = tuple(holding_of(row) for row in rows)
    margin, note = _margin(portfolio, day)
    return Book(holdings, nav.nav_close, nav.cash_brl, margin, note)


def _margin(portfolio: Portfolio, day: date) -> tuple[Decimal | None, str]:
    since = add_business_days(day, -MARGIN_STALE_DAYS)
    found = (
        MarginRecord.objects.filter(portfolio=portfolio, date__lte=day, date__gte=since)
        .order_by("-date")
        .first()
    )
    return margin_of(found, since, day)


def margin_of(found: MarginRecord | None, since: date, day: date) -> tuple[Decimal | None, str]:
    """The margin a rule reads on `day` from the latest record since `since`, and its label."""
    if found is None:
        return None, f"No B3 margin entered from {since:%d/%m/%Y} to {day:%d/%m/%Y}."
    label = " (estimate)" if found.estimate else ""
    as_of = "" if found.date == day else f" as of {found.date:%d/%m/%Y}"
    return found.amount_brl, f"{found.source}{label}{as_of}"


@transaction.atomic
def run_compliance(portfolio: Portfolio, day: date, *, by: User | None = None) -> list[Result]:
    """Evaluate every active rule on the fund's book of `day`: keep each check, open a breach
    the first day a rule is broken (start date, deadline), follow it while it lasts and cure it
    the first day it is not. Idempotent for a day."""
    basis = basis_now(portfolio.pk).as_dict()  # before the inputs: a write after shows newer
    book = book_on(portfolio, day)
    rules = active_rules(portfolio)
    if book is None:
        raise ValidationError(f"{portfolio.code} has no NAV on {day:%d/%m/%Y}: mark it first.")
    results = evaluate(specs(rules), book)
    breaches = Breach.objects.filter(portfolio=portfolio)
    open_ = {b.rule_id: b for b in breaches.select_for_update().exclude(state=Breach.State.CURED)}
    latest = dict(
        breaches.values("rule_id").annotate(last=Max("last_seen_on")).values_list("rule_id", "last")
    )
    for rule, result in zip(rules, results, strict=True):
        RuleCheck.objects.update_or_create(
            rule=rule,
            date=day,
            defaults={
                "portfolio": portfolio,
                "value": result.value,
                "limit": result.limit,
                "status": result.status,
                "detail": result.detail[:300],
                "basis": basis,
            },
        )
        if rule.pk in latest and day < latest[rule.pk]:
            continue  # an earlier day re-run: its check is kept, the breaches follow the latest
        follow_breach(open_, rule, result, day, by=by)
    return results


@transaction.atomic
def recheck(portfolio: Portfolio, day: date, *, by: User) -> list[Result]:
    """The stale banner's recompute: the day's checks again on its book as it stands now (a
    backdated trade, a re-mark), with the rules active now; journaled, since it replaces the
    day's stored checks."""
    results = run_compliance(portfolio, day, by=by)
    broken = sum(r.status in (Status.WARN, Status.BREACH) for r in results)
    journal(
        kind=EntryKind.NOTE,
        actor=by,
        portfolio=portfolio,
        on_date=day,
        snapshot={"rechecked": len(results), "broken": broken},
        note=f"Compliance of {day:%d/%m/%Y} checked again ({len(results)} rules, {broken} "
        "broken): its book or prices had changed since.",
    )
    return results


def follow_breach(
    open_: dict[int, Breach], rule: ComplianceRule, result: Result, day: date, *, by: User | None
) -> int:
    """One rule's breach on one day, `open_` its fund's open breaches by rule: opened the first
    day it breaks (start date, deadline), followed while it lasts, cured the first day it does
    not; a day not measured changes nothing. Returns 1 when a breach opened."""
    breach = open_.get(rule.pk)
    if result.status == Status.NA:
        return 0
    if result.breaches() and breach is None:
        open_[rule.pk] = breach = Breach.objects.create(
            rule=rule,
            portfolio=rule.portfolio,
            started_on=day,
            deadline=add_business_days(day, rule.cure_days),
            worst_value=result.value,
            last_value=result.value,
            last_seen_on=day,
        )
        journal_breach(breach, "opened", result, by=by)
        return 1
    if result.breaches() and breach is not None:
        if result.worse_than(replace(result, value=breach.worst_value)):
            breach.worst_value = result.value
        breach.last_value, breach.last_seen_on = result.value, day
        breach.save(update_fields=["last_value", "last_seen_on", "worst_value", "updated_at"])
    elif breach is not None:
        breach.state, breach.cured_on = Breach.State.CURED, day
        breach.last_value, breach.last_seen_on = result.value, day
        breach.save()
        journal_breach(breach, "cured", result, by=by)
        del open_[rule.pk]
    return 0


def journal_breach(breach: Breach, what: str, result: Result | None, *, by: User | None) -> None:
    rule = breach.rule
    journal(
        kind=EntryKind.COMPLIANCE_BREACH,
        actor=by,
        portfolio=breach.portfolio,
        snapshot={
            "breach": breach.pk,
            "event": what,
            "rule": rule.code,
            "rule_name": rule.name,
            "severity": rule.severity,
            "started_on": breach.started_on.isoformat(),
            "deadline": breach.deadline.isoformat(),
            "value": None if result is None or result.value is None else str(result.value),
            "limit": str(rule.limit),
            "detail": "" if result is None else result.detail,
        },
        note=breach.acknowledged_note if what == "acknowledged" else "",
    )


@transaction.atomic
def acknowledge_breach(breach: Breach, *, by: User, note: str) -> Breach:
    """The compliance officer (back office) or a manager acknowledges an open breach: the
    note (the plan to cure it) is mandatory and journaled."""
    if not has_role(by, Role.BACK_OFFICE, Role.MANAGER):
        raise PermissionDenied("Only back office or a manager acknowledge a breach.")
    if not note.strip():
        raise ValidationError({"note": "Say how and when it will be cured."})
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.state != Breach.State.OPEN:
        raise ValidationError(f"This breach is {breach.get_state_display().lower()} already.")
    breach.state = Breach.State.ACKNOWLEDGED
    breach.acknowledged_by = by
    breach.acknowledged_note = note.strip()
    breach.save()
    journal_breach(breach, "acknowledged", None, by=by)
    return breach


def save_rule(
    rule: ComplianceRule, *, by: User, reason: str, old: dict[str, Any] | None
) -> ComplianceRule:
    """Create or change a compliance rule: back office, a reason, journaled old → new."""
    saved: ComplianceRule = save_setting(
        rule,
        by=by,
        reason=reason,
        old=old,
        fields=RULE_FIELDS,
        settings="the compliance rules",
        noun="rule",
    )
    return saved


@transaction.atomic
def ensure_default_rules(portfolio: Portfolio, *, by: User | None = None) -> int:
    """The documented default rule set (docs/COMPLIANCE.md) for a fund that has none of them;
    each one added is journaled as a rule change."""
    created = 0
    for default in DEFAULT_RULES:
        rule, made = ComplianceRule.objects.get_or_create(
            portfolio=portfolio, code=default.code, defaults=default.fields()
        )
        if made:
            journal_setting_change(
                rule,
                old=None,
                by=by,
                reason="Default compliance rules of a fund.",
                fields=RULE_FIELDS,
            )
        created += made
    return created


def evaluate_with(
    portfolio: Portfolio, day: date, added: Sequence[Holding], cash_change: Decimal
) -> tuple[list[Result], list[Result]] | None:
    """Every active rule before and after `added` (the pre-trade check): None when the fund
    has no marked book on `day` to start from."""
    book = book_on(portfolio, day)
    if book is None:
        return None
    rules = specs(active_rules(portfolio))
    return evaluate(rules, book), evaluate(rules, book.plus(added, cash_change))
