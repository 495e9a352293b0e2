"""The compliance page of a fund: every rule with today's value, its utilisation and its
history (chart), the open and the past breaches."""

from __future__ import annotations

import json
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.compliance.models import Breach
from apps.compliance.queries import compliance_view
from apps.compliance.services import acknowledge_breach, recheck
from apps.core.actors import actor
from apps.core.inputs import FreeTextField
from apps.core.permissions import role_required
from apps.core.roles import Role, has_role
from apps.positions import picker
from apps.positions.access import active_fund_or_404, has_any_fund, visible
from apps.positions.models import Portfolio
from apps.positions.scoped import scope_form
from apps.risk.forms import ComputeForm


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
        "can_acknowledge": has_role(request.user, Role.BACK_OFFICE, Role.MANAGER),
        "error": error,
        "freshness": view or {},
        "can_recompute": has_role(request.user, *RECOMPUTERS),
        "recompute_fields": [
            ("portfolio", portfolio.code if portfolio else ""),
            ("date", view["as_of"].isoformat() if view and view["as_of"] else ""),
        ],
    }
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]
    template = "compliance/_compliance.html" if partial else "compliance/compliance.html"
    return render(request, template, context)


RECOMPUTERS = (Role.MANAGER, Role.APPROVER, Role.OPS, Role.BACK_OFFICE)


@require_POST
@role_required(*RECOMPUTERS)
def recompute(request: HttpRequest) -> HttpResponse:
    """The stale banner's button: the day's checks again on its book as it stands now."""
    form = ComputeForm(request.POST)  # a fund and a day, as risk's compute takes
    scope_form(form, request.user)
    if not form.is_valid():
        messages.error(request, "Choose a fund and a checked day to recompute.")
        return redirect("compliance:page")
    portfolio, day = form.cleaned_data["portfolio"], form.cleaned_data["date"]
    try:
        results = recheck(portfolio, day, by=actor(request))
    except ValidationError as error:
        messages.error(request, f"Compliance not recomputed: {' '.join(error.messages)}")
    else:
        messages.success(
            request,
            f"Compliance of {portfolio.name} on {day:%d/%m/%Y}: "
            f"{len(results)} rules checked again.",
        )
    return redirect(f"/compliance/?portfolio={portfolio.code}&date={day.isoformat()}")


class AcknowledgeForm(forms.Form):
    # Not `required`: the service says why a note is needed, in one place.
    note = FreeTextField(required=False, max_length=1000, label="Note")


@require_POST
@role_required(*Role.values)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge an open breach with a note (how and when it will be cured); journaled."""
    rows = Breach.objects.select_related("rule", "portfolio")
    breach = get_object_or_404(visible(request.user, rows, field="portfolio_id"), pk=pk)
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    error = "" if form.is_valid() else " ".join(str(m) for ms in form.errors.values() for m in ms)
    if not error:
        try:  # PermissionDenied (a viewer, an approver) is left to Django: 403
            acknowledge_breach(breach, by=actor(request), note=note)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if error:
        messages.error(request, f"Breach of {breach.rule.name} not acknowledged: {error}")
    else:
        messages.success(request, f"Breach of {breach.rule.name} acknowledged (journaled).")
    return redirect(f"/compliance/?portfolio={breach.portfolio.code}")
