"""The compliance page of a fund: every rule with today's value, its utilisation and its
history (chart), the open and the past breaches."""

from __future__ import annotations

import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.compliance.queries import compliance_view
from apps.core.permissions import role_required
from apps.core.roles import Role
from apps.positions import picker
from apps.positions.access import active_fund_or_404, has_any_fund, visible
from apps.positions.models import Portfolio


def parse_day(raw: str) -> tuple[date | None, str]:
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"{raw!r} is not a date (use YYYY-MM-DD); showing the latest day."


@role_required(*Role.values)
def page(request: HttpRequest) -> HttpResponse:
    """One fund's compliance on a day (the latest checked by default)."""
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Compliance")
    _, code = picker.pick(request)
    portfolio = active_fund_or_404(request.user, code or None)
    day, error = parse_day(request.GET.get("date", ""))
    view = compliance_view(portfolio, day) if portfolio else None
    charts = {
        "rules": [
            {"code": r["code"], "name": r["name"], "history": r["history"]}
            for r in (view or {}).get("rules", [])
            if not r["count"]
        ]
    }
    context = {
        "portfolio": portfolio,
        "portfolios": list(visible(request.user, Portfolio.objects.active()).order_by("pk")),
        "view": view,
        "charts_json": json.dumps(charts, cls=DjangoJSONEncoder),
        "error": error,
    }
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]
    template = "compliance/_compliance.html" if partial else "compliance/compliance.html"
    return render(request, template, context)
