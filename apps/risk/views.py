"""The risk monitor: a fund's stored snapshot for a date, its alerts; compute and acknowledge.

The page reads only the stored `RiskSnapshot` through `apps.risk.queries` (the engine never
runs on a GET): it stays fast on a large book, and shows what the EOD pipeline computed and
alerted on.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from apps.core.actors import actor
from apps.core.page_cache import cached_page
from apps.core.permissions import role_required
from apps.core.roles import Role, has_role
from apps.positions import picker
from apps.positions.access import has_any_fund, visible
from apps.positions.models import Portfolio
from apps.positions.scoped import scope_form
from apps.risk.forms import AcknowledgeForm, ComputeForm, RecomputeForm
from apps.risk.intraday import recompute_current
from apps.risk.models import Alert
from apps.risk.queries import cached_monitor, is_history, tenor
from apps.risk.services import acknowledge_alert, run_risk

__all__ = ["RUNNERS", "acknowledge", "compute", "monitor", "recompute", "tenor"]

# Who may compute a snapshot on demand and acknowledge alerts (the service checks the latter).
RUNNERS = (Role.MANAGER, Role.APPROVER, Role.OPS)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@role_required(*Role.values)
def monitor(request: HttpRequest) -> HttpResponse:
    """One fund's risk on a date from its stored snapshot (the latest one by default)."""
    funds, code = picker.pick(request)
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Risk")
    raw_day = request.GET.get("date", "")
    day, error = _parse_day(raw_day)
    runner = has_role(request.user, *RUNNERS)

    def build() -> tuple[dict[str, Any], str]:
        portfolios = list(visible(request.user, Portfolio.objects.active()))
        portfolio = next((p for p in portfolios if p.code == code), None)
        portfolio = portfolio or (portfolios[0] if portfolios else None)
        context: dict[str, Any] = {
            "portfolios": portfolios,
            "portfolio": portfolio,
            "requested": day,
            "error": error,
            "can_compute": runner,
            "can_acknowledge": runner,
            "snapshot": None,
        }
        if portfolio is None:
            return context, "bypass"
        cached = cached_monitor(portfolio, day)
        shown = cached.value.get("snapshot")
        context["recompute_fields"] = [("portfolio", portfolio.code)]
        if day is not None and shown is not None:
            context["recompute_fields"].append(("date", shown.date.isoformat()))
        return context | cached.value, cached.status

    return cached_page(
        request,
        name="risk",
        code=code,
        funds=funds,
        params={"portfolio": code, "date": raw_day, "runner": runner},
        build=build,
        template="risk/monitor.html",
        title=lambda context: "Risk",
        bypass=bool(error),  # a mistyped date: shown once, not kept
        history=lambda portfolio_id: is_history(portfolio_id, day),
    )


@require_POST
@role_required(*RUNNERS)
def compute(request: HttpRequest) -> HttpResponse:
    """Compute and store a fund's snapshot for a date now (what the EOD pipeline does)."""
    form = ComputeForm(request.POST)
    scope_form(form, request.user)
    if not form.is_valid():
        messages.error(request, "Choose a fund and a date (YYYY-MM-DD) to compute.")
        return redirect("risk:monitor")
    portfolio, day = form.cleaned_data["portfolio"], form.cleaned_data["date"]
    try:
        snapshot = run_risk(portfolio, day, by=actor(request))
    except ValidationError as error:
        messages.error(request, f"Risk not computed: {' '.join(error.messages)}")
    else:
        breaches = sum(c["level"] != "ok" for c in snapshot.report.get("limits", []))
        messages.success(
            request,
            f"Risk of {portfolio.name} on {day:%d/%m/%Y} computed and stored; "
            f"{breaches} limit{'s' if breaches != 1 else ''} over a level.",
        )
    return redirect(_monitor_url(portfolio.code, day))


@require_POST
@role_required(*RUNNERS)
def recompute(request: HttpRequest) -> HttpResponse:
    """The stale banner's button: the latest view's risk now (`recompute_current`), or a dated
    view's snapshot again (`run_risk`)."""
    form = RecomputeForm(request.POST)
    scope_form(form, request.user)
    if not form.is_valid():
        messages.error(request, "Choose a fund to recompute.")
        return redirect("risk:monitor")
    portfolio, day = form.cleaned_data["portfolio"], form.cleaned_data.get("date")
    try:
        if day is None:
            done = recompute_current(portfolio, by=actor(request))
        else:
            run_risk(portfolio, day, by=actor(request))
            done = f"the snapshot of {day:%d/%m/%Y} recomputed"
    except ValidationError as error:
        messages.error(request, f"Risk not recomputed: {' '.join(error.messages)}")
    else:
        messages.success(request, f"Risk of {portfolio.name}: {done}.")
    return redirect(_monitor_url(portfolio.code, day))


@require_POST
@role_required(*Role.values)
def acknowledge(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Acknowledge an alert with a note; htmx gets the alert's row back, others a redirect."""
    rows = Alert.objects.select_related("limit", "portfolio")
    alert = get_object_or_404(visible(request.user, rows, field="portfolio_id"), pk=pk)
    form = AcknowledgeForm(request.POST)
    error = "" if form.is_valid() else " ".join(str(m) for ms in form.errors.values() for m in ms)
    if not error:
        try:  # PermissionDenied (a viewer, back office) is left to Django: 403
            alert = acknowledge_alert(alert, by=actor(request), note=form.cleaned_data["note"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if request.htmx:
        context = {"alert": alert, "error": error, "can_acknowledge": True, "oob": not error}
        context["open_alerts"] = Alert.objects.open().filter(portfolio=alert.portfolio).count()
        return render(request, "risk/_alert.html", context)
    if error:
        messages.error(request, f"Alert #{alert.pk} not acknowledged: {error}")
    else:
        messages.success(request, f"Alert #{alert.pk} acknowledged.")
    return redirect(_monitor_url(alert.portfolio.code, None))


# --- helpers -----------------------------------------------------------------------------------


def _parse_day(raw: str) -> tuple[date | None, str]:
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"{raw!r} is not a date (use YYYY-MM-DD); showing the latest snapshot."


def _monitor_url(code: str, day: date | None) -> str:
    query = {"portfolio": code, **({"date": day.isoformat()} if day else {})}
    return f"{reverse('risk:monitor')}?{urlencode(query)}"
