"""The default rule set a fund starts with (docs/COMPLIANCE.md says where each number comes
from). Every number is the fund's setting once installed: the back office edits it in the
admin, with a reason, journaled. Numbers marked "to confirm" follow secondary sources on CVM
Resolution 175 (its Anexo Normativo I was not read in primary text)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.compliance.models import RuleKind, Severity

D = Decimal
CURE_DAYS = 15  # business days; the fund's regulation may say otherwise (COMPLIANCE.md)


@dataclass(frozen=True)
class DefaultRule:
    code: str
    name: str
    kind: str
    limit: Decimal
    severity: str
    legal_basis: str
    scope: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "scope": self.scope,
            "limit": self.limit,
            "severity": self.severity,
            "legal_basis": self.legal_basis,
            "cure_days": CURE_DAYS,
        }


CVM = "CVM Res. 175, Anexo Normativo I"
TO_CONFIRM = "(to confirm against the consolidated text)"
ISSUER_BASIS = (
    f"{CVM}, concentration by issuer (ICVM 555 art. 102 numbers, reportedly carried over) "
    f"{TO_CONFIRM}"
)

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule(
        "margin",
        "B3 margin ≤ 70 % of NAV (multimercado)",
        RuleKind.MARGIN,
        D("0.70"),
        Severity.HARD,
        f"{CVM} art. 73; Ofício-Circular CVM/SIN 10/2023 (margem bruta) {TO_CONFIRM}",
    ),
    DefaultRule(
        "abroad",
        "Investment abroad ≤ 20 % of NAV",
        RuleKind.FOREIGN,
        D("0.20"),
        Severity.HARD,
        f"{CVM} art. 43; Ofício-Circular CVM/SIN 1/2024 (retail classes; a qualified-investor "
        f"class may set more in its regulation) {TO_CONFIRM}",
    ),
    DefaultRule(
        "issuer-financial",
        "One financial institution ≤ 20 % of NAV",
        RuleKind.ISSUER,
        D("0.20"),
        Severity.HARD,
        ISSUER_BASIS,
        scope="FINANCIAL",
    ),
    DefaultRule(
        "issuer-listed",
        "One listed company ≤ 10 % of NAV",
        RuleKind.ISSUER,
        D("0.10"),
        Severity.HARD,
        ISSUER_BASIS,
        scope="LISTED",
    ),
    DefaultRule(
        "issuer-fund",
        "One investment fund ≤ 10 % of NAV",
        RuleKind.ISSUER,
        D("0.10"),
        Severity.HARD,
        ISSUER_BASIS,
        scope="FUND",
    ),
    DefaultRule(
        "issuer-other",
        "One other issuer ≤ 5 % of NAV",
        RuleKind.ISSUER,
        D("0.05"),
        Severity.HARD,
        ISSUER_BASIS,
        scope="OTHER",
    ),
    DefaultRule(
        "gross-exposure",
        "Gross exposure ≤ 300 % of NAV",
        RuleKind.GROSS_EXPOSURE,
        D("3.00"),
        Severity.SOFT,
        "Fund policy (risk budget), not a CVM number.",
    ),
    DefaultRule(
        "net-exposure",
        "Net exposure ≤ 150 % of NAV",
        RuleKind.NET_EXPOSURE,
        D("1.50"),
        Severity.SOFT,
        "Fund policy (risk budget), not a CVM number.",
    ),
    DefaultRule(
        "single-instrument",
        "One instrument ≤ 45 % of NAV",
        RuleKind.INSTRUMENT,
        D("0.45"),
        Severity.SOFT,
        "Fund policy (diversification), not a CVM number.",
    ),
    DefaultRule(
        "equities-share",
        "Equities ≤ 67 % of NAV (else the class is an equity fund)",
        RuleKind.ASSET_CLASS,
        D("0.67"),
        Severity.SOFT,
        f"{CVM}, class typification (67 % in equities, ICVM 555 art. 115 reportedly carried "
        f"over) {TO_CONFIRM}",
        scope="EQUITY",
    ),
    DefaultRule(
        "min-cash",
        "Cash ≥ 5 % of NAV",
        RuleKind.MIN_CASH,
        D("0.05"),
        Severity.SOFT,
        "Fund policy (liquidity for redemptions and margin calls), not a CVM number.",
    ),
)
