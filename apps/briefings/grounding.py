"""The grounding check: every number in a narrative must be a number in the facts.

A number written with d decimals matches a fact value v when v, rounded to d decimals, equals
it — after the scale its unit implies (R$ 1,2 mi is 1.2 million; "mil" thousands), and allowing
the sign to be carried by words ("perda de 1.234"). Dates, contract codes and the years of
dates are not quantities and are removed before the check. Anything else is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

DATE_PATTERNS = [
    r"\b\d{4}-\d{2}-\d{2}\b",  # 2025-02-03
    r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",  # 03/02/2025, 03/02
    r"\b\d{1,2}(?:º|°)?\s+(?:de\s+)?(?:jan|fev|feb|mar|abr|apr|mai|may|jun|jul|ago|aug|set|sep|out|oct|nov|dez|dec)[a-zç]*\.?(?:\s+(?:de\s+)?\d{4})?",
    r"\b(?:jan|fev|feb|mar|abr|apr|mai|may|jun|jul|ago|aug|set|sep|out|oct|nov|dez|dec)[a-zç]*\.?\s+\d{1,2}(?:,?\s+\d{4})?",
    r"\b(?:jan|fev|feb|mar|abr|apr|mai|may|jun|jul|ago|aug|set|sep|out|oct|nov|dez|dec)[a-zç]*\.?(?:/|\s+de\s+|\s+)\d{4}\b",
]
CODE = r"\b[A-Z][A-Z0-9_]*\d[A-Z0-9_]*\b"  # DI1F27, ESH25, NTNB_20350515, VaR99
NUMBER = re.compile(
    r"(?P<sign>[+\-−])?\s?(?:R\$\s?|US\$\s?)?(?P<num>\d[\d.,]*\d|\d)"
    r"\s?(?P<unit>%|p\.p\.|pp|bps?|pb|mi\b|milhões|milhao|milhão|million|mn\b|bi\b|bilhões|bilhão|"
    r"billion|mil\b|thousand|k\b)?",
    re.IGNORECASE,
)
SCALE = {
    "mi": Decimal(10**6),
    "milhões": Decimal(10**6),
    "milhao": Decimal(10**6),
    "milhão": Decimal(10**6),
    "million": Decimal(10**6),
    "mn": Decimal(10**6),
    "bi": Decimal(10**9),
    "bilhões": Decimal(10**9),
    "bilhão": Decimal(10**9),
    "billion": Decimal(10**9),
    "mil": Decimal(10**3),
    "thousand": Decimal(10**3),
    "k": Decimal(10**3),
}


@dataclass(frozen=True)
class Quantity:
    text: str
    value: Decimal
    places: int
    scale: Decimal
    signed: bool = False  # written with an explicit + or −: the sign must match too


def fact_numbers(facts: Any) -> list[Decimal]:
    """Every number in the facts, including list sizes and numbers inside text fields."""
    out: list[Decimal] = []

    def walk(node: Any) -> None:
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, int | float | Decimal):
            out.append(Decimal(str(node)))
        elif isinstance(node, str):
            for q in _quantities(_strip(node), "en"):
                out.append(q.value * q.scale)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            out.append(Decimal(len(node)))
            for value in node:
                walk(value)

    walk(facts)
    return out


def _strip(text: str) -> str:
    for pattern in DATE_PATTERNS:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return re.sub(CODE, " ", text)


def _parse(raw: str, language: str) -> tuple[Decimal, int] | None:
    """'1.234,56' (pt-BR) or '1,234.56' (en) → (1234.56, 2)."""
    thousands, decimal = (".", ",") if language.startswith("pt") else (",", ".")
    if raw.count(decimal) > 1:
        return None
    whole, _, frac = raw.partition(decimal)
    groups = whole.split(thousands)
    if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
        # "5.8348" in a pt-BR text is not thousands: read the other separator as decimal.
        if raw.count(thousands) == 1 and decimal not in raw:
            whole, frac = raw.split(thousands)
            groups = [whole]
        else:
            return None
    try:
        value = Decimal("".join(groups) + ("." + frac if frac else ""))
    except InvalidOperation:
        return None
    return value, len(frac)


def _quantities(text: str, language: str) -> Iterable[Quantity]:
    for match in NUMBER.finditer(text):
        parsed = _parse(match.group("num"), language)
        if parsed is None:
            continue
        value, places = parsed
        if match.group("sign") in ("-", "−"):
            value = -value
        unit = (match.group("unit") or "").lower()
        signed = match.group("sign") is not None
        scale = SCALE.get(unit, Decimal(1))
        yield Quantity(match.group(0).strip(), value, places, scale, signed)


def _matches(q: Quantity, facts: list[Decimal]) -> bool:
    quantum = Decimal(1).scaleb(-q.places)
    for fact in facts:
        scaled = fact / q.scale
        for candidate in (scaled,) if q.signed else (scaled, abs(scaled)):
            if candidate.quantize(quantum) == q.value or abs(candidate - q.value) <= quantum / 2:
                return True
    return False


def is_year(q: Quantity) -> bool:
    return q.places == 0 and q.scale == 1 and 1990 <= q.value <= 2100


def ungrounded(narrative: str, facts: Any, language: str) -> list[str]:
    """The numbers of `narrative` that no fact supports (empty when it is grounded)."""
    known = fact_numbers(facts)
    return [
        q.text
        for q in _quantities(_strip(narrative), language)
        if not is_year(q) and not _matches(q, known)
    ]
