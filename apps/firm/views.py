"""The firm page: the funds the user may see, side by side and together, with drill-down."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.permissions import role_required
from apps.core.roles import Role
from apps.firm.queries import build_firm, chart_data
from apps.positions.access import visible
from apps.positions.models import Portfolio


def parse_day(raw: str) -> tuple[date | None, str]:
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"{raw!r} is not a date (use YYYY-MM-DD); showing the latest day."


def firm_funds(user: object) -> list[Portfolio]:
    """The active funds `user` may see (the one access selector), oldest first (the flagship)."""
    return list(visible(user, Portfolio.objects.active()).order_by("pk"))


@role_required(*Role.values)
def page(request: HttpRequest) -> HttpResponse:
    """The firm view on a day; an htmx request gets the `_firm.html` fragment."""
    day, error = parse_day(request.GET.get("date", ""))
    firm = build_firm(firm_funds(request.user), day)
    context = {"firm": firm, "charts": chart_data(firm), "error": error}
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]
    return render(request, "firm/_firm.html" if partial else "firm/firm.html", context)
