"""The demo's compliance data: the issuers of the bonds and the ETF, the offshore futures
flagged as assets abroad, each fund's rule set (the documented defaults, and a rule or two of
its own mandate), an estimated B3 margin for every marked day (labelled as an estimate), and
the rules replayed over each fund's history, so the breaches shown are the engine's own."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction

from apps.compliance.history import replay_history
from apps.compliance.models import Breach, ComplianceRule, MarginRecord, RuleKind, Severity
from apps.compliance.services import RULE_FIELDS, ensure_default_rules
from apps.demo.fund.vehicles import DEMO_FUNDS
from apps.demo.options import SeedOptions
from apps.marketdata.models import Instrument, InstrumentKind, Issuer, IssuerKind
from apps.positions.models import DailyMark, Portfolio
from apps.risk.services import journal_setting_change, setting_values

D = Decimal
TESOURO = ("Tesouro Nacional", "00.394.460/0058-87", IssuerKind.UNIAO)
BOVA11_FUND = ("iShares Ibovespa Fundo de Índice", "10.406.511/0001-61", IssuerKind.FUND)
FEDERAL_BONDS = (InstrumentKind.LTN, InstrumentKind.NTNF, InstrumentKind.NTNB, InstrumentKind.LFT)
# A demo estimate of B3's margin: each future's gross exposure times a rate of its kind
# (the order of magnitude of B3's CORE margins; not B3's figure, and labelled so).
MARGIN_RATES: dict[str, Decimal] = {
    InstrumentKind.DI1: D("0.03"),
    InstrumentKind.DAP: D("0.04"),
    InstrumentKind.DDI: D("0.05"),
    InstrumentKind.FRC: D("0.05"),
    InstrumentKind.DOL: D("0.10"),
    InstrumentKind.WDO: D("0.10"),
    InstrumentKind.IND: D("0.15"),
    InstrumentKind.WIN: D("0.15"),
}
MARGIN_SOURCE = "Demo estimate: B3 futures' gross exposure × a margin rate per contract kind"
# Where a vehicle's regulation sets another number than the default, by fund code and rule.
OWN_LIMITS = {
    "demo-macro": {
        "abroad": (
            "Investment abroad ≤ 45 % of NAV",
            D("0.45"),
            "The class's regulation (qualified investors): up to 45 % abroad under CVM Res. "
            "175, Anexo Normativo I art. 43 (demo setting; to confirm against the text).",
        ),
    },
}
# Each vehicle's own rules besides the defaults (its mandate), by fund code.
OWN_RULES = {
    "demo-macro": [
        (
            "no-frc",
            "No FX coupon FRAs",
            RuleKind.FORBIDDEN_KINDS,
            "FRC",
            D("0"),
            "Fund policy: the regulation does not provide for FRC.",
        ),
    ],
    "demo-pension": [
        (
            "mandate-kinds",
            "Only the mandate's instruments",
            RuleKind.ALLOWED_KINDS,
            "DI1,DAP,IND,WIN,LTN,NTNF,NTNB,LFT,EQUITY,ETF",
            D("0"),
            "Fund policy: the managed account's mandate (Brazilian rates and equities only).",
        ),
    ],
}


@transaction.atomic
def seed_compliance(options: SeedOptions) -> str:
    _issuers()
    lines = []
    codes = [fund.code for fund in DEMO_FUNDS]
    for portfolio in Portfolio.objects.filter(code__in=codes).order_by("code"):
        installed = ensure_default_rules(portfolio)
        if installed:
            _own_limits(portfolio)
        for code, name, kind, scope, limit, basis in OWN_RULES.get(portfolio.code, []):
            ComplianceRule.objects.get_or_create(
                portfolio=portfolio,
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "scope": scope,
                    "limit": limit,
                    "severity": Severity.HARD,
                    "legal_basis": basis,
                },
            )
        margins = _estimate_margins(portfolio)
        made = replay_history(portfolio)
        breaches = Breach.objects.filter(portfolio=portfolio)
        shown = ", ".join(
            f"{b.rule.code} {b.started_on:%d/%m/%Y}–"
            + (f"{b.cured_on:%d/%m/%Y}" if b.cured_on else "open")
            for b in breaches.select_related("rule").order_by("started_on")[:4]
        )
        lines.append(
            f"{portfolio.code}: {installed} default rules, {margins} margin estimates, "
            f"{made['days']} days checked, breaches: {shown or 'none'}"
        )
    return "Compliance: " + "; ".join(lines) + "."


def _own_limits(portfolio: Portfolio) -> None:
    for code, (name, limit, basis) in OWN_LIMITS.get(portfolio.code, {}).items():
        rule = ComplianceRule.objects.get(portfolio=portfolio, code=code)
        old = setting_values(rule, RULE_FIELDS)
        rule.name, rule.limit, rule.legal_basis = name, limit, basis
        rule.save(update_fields=["name", "limit", "legal_basis", "updated_at"])
        journal_setting_change(
            rule, old=old, by=None, reason="The fund's regulation.", fields=RULE_FIELDS
        )


def _issuers() -> None:
    tesouro = _issuer(*TESOURO)
    Instrument.objects.filter(kind__in=FEDERAL_BONDS, issuer=None).update(issuer=tesouro)
    bova = _issuer(*BOVA11_FUND)
    Instrument.objects.filter(ticker="BOVA11", issuer=None).update(issuer=bova)
    Instrument.objects.filter(kind=InstrumentKind.OFFSHORE_FUTURE).update(foreign=True)


def _issuer(name: str, cnpj: str, kind: str) -> Issuer:
    issuer, _ = Issuer.objects.get_or_create(name=name, defaults={"cnpj": cnpj, "kind": kind})
    return issuer


def _estimate_margins(portfolio: Portfolio) -> int:
    """An estimated margin for every marked day without one."""
    have = set(MarginRecord.objects.filter(portfolio=portfolio).values_list("date", flat=True))
    marks = (
        DailyMark.objects.filter(portfolio=portfolio, position__instrument__kind__in=MARGIN_RATES)
        .exclude(quantity=0)
        .values_list("date", "position__instrument__kind", "exposure_brl")
    )
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for day, kind, exposure in marks:
        by_day[day] += abs(exposure) * MARGIN_RATES[kind]
    rows = [
        MarginRecord(
            portfolio=portfolio,
            date=day,
            amount_brl=amount.quantize(D("0.01")),
            estimate=True,
            source=MARGIN_SOURCE,
        )
        for day, amount in sorted(by_day.items())
        if day not in have
    ]
    MarginRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
