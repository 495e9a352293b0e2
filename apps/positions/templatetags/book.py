"""The book's per-row pieces in Python: the table has ~500 rows of 11 figures, and the template
engine's per-variable cost (lookup, escape, localize) was most of a cache miss."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from apps.core.templatetags.pms_format import bps, brl, num, pnl_class, signed_pct

register = template.Library()

_PK = 987654321  # stands for the position's id in the reversed URL


@register.simple_tag
def book_figures(x: Any, exposure: Any) -> str:
    """The eleven figure cells of a book row, a strategy's subtotal or the total."""

    def money(name: str, start: bool = False) -> str:
        value = getattr(x, name, None)
        group = " group-start" if start else ""
        return format_html('<td class="num{} {}">{}</td>', group, pnl_class(value), brl(value, 0))

    def share(name: str) -> str:
        value = getattr(x, name, None)
        return format_html('<td class="num {}">{}</td>', pnl_class(value), bps(value))

    cells = [
        format_html('<td class="num group-start">{}</td>', num(getattr(x, "notional_brl", None))),
        format_html('<td class="num">{}</td>', signed_pct(exposure, 2)),
        money("dv01_brl"),
        money("day_pnl_brl", start=True),
        share("day_pnl_of_nav"),
        money("mtd_pnl_brl"),
        share("mtd_pnl_of_nav"),
        money("ytd_pnl_brl"),
        share("ytd_pnl_of_nav"),
        money("realized_pnl_brl", start=True),
        money("unrealized_pnl_brl"),
    ]
    return mark_safe("".join(cell + "\n" for cell in cells))  # each cell is escaped above


@register.filter
def position_url(pk: int) -> str:
    """`{% url 'positions:position' pk %}` without a reverse() per row."""
    return _position_url(get_script_prefix()).replace(str(_PK), str(int(pk)))


@lru_cache(maxsize=8)
def _position_url(script_prefix: str) -> str:
    return reverse("positions:position", args=[_PK])
