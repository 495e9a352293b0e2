"""The book's rows in Python: the table has ~500 rows of 16 cells, and the template engine's
per-variable cost (lookup, escape, localize) and `format_html`'s per-argument one were most of
a cache miss. Every value is escaped (`html.escape`) and each cell reads exactly as the template
wrote it."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString, mark_safe

from apps.core.templatetags.pms_format import bps, brl, num, pct, pnl_class, signed_pct

register = template.Library()

_PK = 987654321  # stands for the position's id in the reversed URL


def _cell(classes: str, text: str) -> str:
    return f'<td class="{escape(classes)}">{escape(text)}</td>\n'


@register.simple_tag
def book_figures(x: Any, exposure: Any) -> SafeString:
    """The eleven figure cells of a book row, a strategy's subtotal or the total."""
    return mark_safe("".join(_figures(x, exposure)))  # every value escaped in _cell


def _figures(x: Any, exposure: Any) -> list[str]:
    def money(name: str, start: bool = False) -> str:
        value = getattr(x, name, None)
        return _cell(f"num{' group-start' if start else ''} {pnl_class(value)}", brl(value, 0))

    def share(name: str) -> str:
        value = getattr(x, name, None)
        return _cell(f"num {pnl_class(value)}", bps(value))

    return [
        _cell("num group-start", num(getattr(x, "notional_brl", None))),
        _cell("num", signed_pct(exposure, 2)),
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


@register.simple_tag
def book_row(r: Any) -> SafeString:
    """A position's row: instrument, side, quantity, average cost, last price (and rate), then
    the figures."""
    places = r.price_places
    if r.is_open:
        tone = "pos" if r.side == "long" else "neg"
        side = f'<span class="{tone}">{escape(str(r.side_label))}</span>'
    else:
        side = f'<span class="badge">closed {r.closed_on:%d/%m}</span>'
    rate = f'<span class="sub">{escape(pct(r.rate, 3))}</span>' if r.rate is not None else ""
    cells = [
        f'<td><a href="{escape(position_url(r.position_id))}">{escape(str(r.ticker))}</a>'
        f'<span class="sub">{escape(str(r.asset_class_label))}</span></td>\n',
        f"<td>{side}</td>\n",
        _cell("num", num(r.quantity, 0)),
        _cell("num", num(r.avg_cost, places)),
        f'<td class="num">{escape(num(r.price, places))}{rate}</td>\n',
        *_figures(r, r.exposure_of_nav),
    ]
    return mark_safe(f'<tr data-testid="position-row">\n{"".join(cells)}</tr>\n')  # escaped above


@register.filter
def position_url(pk: int) -> str:
    """`{% url 'positions:position' pk %}` without a reverse() per row."""
    return _position_url(get_script_prefix()).replace(str(_PK), str(int(pk)))


@lru_cache(maxsize=8)
def _position_url(script_prefix: str) -> str:
    return reverse("positions:position", args=[_PK])
