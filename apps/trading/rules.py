"""The fat-finger rules as plain maths: a ticket's measured numbers against warning and blocking
levels. No Django: `pretrade.py` fetches the numbers and the fund's settings, this decides.

Units (the admin's help texts repeat them): QUANTITY in units or contracts; NOTIONAL, DV01 and
FX_DELTA as fractions of the NAV (DV01 per bp: 0.0005 = a 1 bp move costs 0.05 % of NAV);
PRICE_BAND a fraction of the last settlement (0.05 = 5 %); RATE_BAND in bp."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

D = Decimal

PASS, WARN, BLOCK, NA = "pass", "warn", "block", "n/a"
SEVERITY = {NA: 0, PASS: 0, WARN: 1, BLOCK: 2}

RATE_FUTURES = ("DI1", "DAP", "DDI", "FRC")
BONDS = ("LTN", "NTNF", "NTNB", "LFT")


@dataclass(frozen=True)
class Levels:
    warn: Decimal
    block: Decimal


# The defaults when a fund has no row for a rule (admin: Trading › Fat-finger rules). Sized
# for a R$ 100 mi – 5 bi macro fund: a desk's normal clip passes, ten times it warns, a typo
# of a few digits blocks. Rate futures carry notionals of several NAVs (their risk is DV01).
QUANTITY_DEFAULTS: dict[str, Levels] = {
    **{kind: Levels(D(20_000), D(100_000)) for kind in ("DI1", "WIN", "WDO")},
    **{kind: Levels(D(10_000), D(50_000)) for kind in ("DAP", "DDI", "FRC")},
    **{kind: Levels(D(2_000), D(10_000)) for kind in ("DOL", "IND", "OFFSHORE_FUTURE")},
    **{kind: Levels(D(500_000), D(2_000_000)) for kind in BONDS},
    **{kind: Levels(D(5_000_000), D(50_000_000)) for kind in ("EQUITY", "ETF")},
    "FX_SPOT": Levels(D(50_000_000), D(500_000_000)),
}
QUANTITY_FALLBACK = Levels(D(1_000_000), D(10_000_000))
DEFAULTS: dict[str, Levels] = {
    "NOTIONAL": Levels(D("0.25"), D("1.00")),
    "DV01": Levels(D("0.0005"), D("0.0025")),
    "FX_DELTA": Levels(D("0.25"), D("1.00")),
    "PRICE_BAND": Levels(D("0.05"), D("0.25")),
    "RATE_BAND": Levels(D(25), D(100)),
}
RATE_FUTURES_NOTIONAL = Levels(D("2.00"), D("10.00"))

LABELS = {
    "QUANTITY": "Quantity",
    "NOTIONAL": "Notional vs NAV",
    "DV01": "DV01 added vs NAV",
    "FX_DELTA": "FX delta added vs NAV",
    "PRICE_BAND": "Price vs last settlement",
    "RATE_BAND": "Rate vs last settlement",
    "TRADABLE": "Instrument tradable",
    "TRADE_DATE": "Trade date",
    "LIMITS": "Risk limits after the trade",
    "COMPLIANCE": "Compliance (CVM 175 and the fund's rules)",
    "WHAT_IF": "What-if",
}
# The ticket's field a rule's message belongs to on a form.
FIELDS = {
    "QUANTITY": "quantity",
    "NOTIONAL": "quantity",
    "DV01": "quantity",
    "FX_DELTA": "quantity",
    "PRICE_BAND": "price",
    "RATE_BAND": "rate",
    "TRADABLE": "instrument",
    "TRADE_DATE": "trade_date",
}


def default_levels(rule: str, kind: str) -> Levels:
    if rule == "QUANTITY":
        return QUANTITY_DEFAULTS.get(kind, QUANTITY_FALLBACK)
    if rule == "NOTIONAL" and kind in RATE_FUTURES:
        return RATE_FUTURES_NOTIONAL
    return DEFAULTS[rule]


@dataclass(frozen=True)
class RuleResult:
    """One rule on one ticket: its status and the numbers behind it."""

    rule: str
    status: str
    message: str
    value: Decimal | None = None
    warn: Decimal | None = None
    block: Decimal | None = None
    ticket: int = 0  # the ticket's index in its basket
    on_field: str = ""  # the form field it belongs to, when not the rule's usual one

    @property
    def label(self) -> str:
        return LABELS.get(self.rule, self.rule)

    @property
    def field(self) -> str | None:
        return self.on_field or FIELDS.get(self.rule)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def _fmt(rule: str, value: Decimal) -> str:
    if rule == "QUANTITY":
        return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.4f}"
    if rule == "RATE_BAND":
        return f"{value:,.1f} bp"
    if rule == "DV01":
        return f"{value * 100:,.3f} % of NAV per bp"
    return f"{value * 100:,.2f} %" + ("" if rule == "PRICE_BAND" else " of NAV")


def measure(
    rule: str,
    value: Decimal,
    levels: Levels,
    *,
    what: str,
    ticket: int = 0,
) -> RuleResult:
    """`value` (its absolute size) against `levels`; `what` says what was measured, e.g.
    "99,999,999,999 DI1F29" or "R$ 9.0 tri", for the message."""
    size = abs(value)
    shown, warn, block = _fmt(rule, size), _fmt(rule, levels.warn), _fmt(rule, levels.block)
    label = LABELS[rule]
    if size >= levels.block:
        status = BLOCK
        message = f"{label}: {shown} ({what}) is at or above the blocking level {block}."
    elif size >= levels.warn:
        status = WARN
        message = f"{label}: {shown} ({what}) is at or above the warning level {warn}."
    else:
        status = PASS
        message = f"{label}: {shown} ({what}), below the warning level {warn}."
    return RuleResult(rule, status, message, size, levels.warn, levels.block, ticket)


def not_measured(rule: str, why: str, *, ticket: int = 0, status: str = NA) -> RuleResult:
    message = f"{LABELS.get(rule, rule)}: not measured ({why})."
    return RuleResult(rule, status, message, ticket=ticket)


def worst(statuses: list[str]) -> str:
    """The verdict of several results: block > warn > pass."""
    top = max((SEVERITY[s] for s in statuses), default=0)
    return {0: PASS, 1: WARN, 2: BLOCK}[top]
