"""Number formatting for every page: thousands separators, explicit signs, P&L colours.

Loaded as a template builtin, so no `{% load %}` is needed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

MINUS = "\u2212"  # a real minus sign lines up with the plus in tabular figures


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _grouped(value: Decimal, places: int, *, signed: bool) -> str:
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):,.{places}f}"
    if rounded < 0:
        return MINUS + text
    if signed and rounded > 0:
        return "+" + text
    return text


@register.filter
def num(value: Any, places: int = 0) -> str:
    """1234567.891|num:2 → 1,234,567.89"""
    number = _to_decimal(value)
    return "—" if number is None else _grouped(number, int(places), signed=False)


@register.filter
def signed(value: Any, places: int = 0) -> str:
    """Like num, with an explicit + for positive values."""
    number = _to_decimal(value)
    return "—" if number is None else _grouped(number, int(places), signed=True)


@register.filter
def brl(value: Any, places: int = 2) -> str:
    """Money in BRL with sign: +1,234.50 / −12.00."""
    return signed(value, places)


@register.filter
def pct(value: Any, places: int = 2) -> str:
    """A fraction as a percentage: 0.14901|pct:3 → 14.901 %"""
    number = _to_decimal(value)
    return "—" if number is None else _grouped(number * 100, int(places), signed=False) + " %"


@register.filter
def signed_pct(value: Any, places: int = 2) -> str:
    """A fraction as a signed percentage: +0.25 %"""
    number = _to_decimal(value)
    return "—" if number is None else _grouped(number * 100, int(places), signed=True) + " %"


@register.filter
def bps(value: Any, places: int = 1) -> str:
    """A fraction in signed basis points: 0.0012 → +12.0 bp"""
    number = _to_decimal(value)
    return "—" if number is None else _grouped(number * 10000, int(places), signed=True) + " bp"


@register.filter
def pnl_class(value: Any) -> str:
    """CSS class colouring a P&L figure: pos, neg or flat."""
    number = _to_decimal(value)
    if number is None or number == 0:
        return "flat"
    return "pos" if number > 0 else "neg"
