"""Back office for risk: limits (every edit kept), stress scenarios, alerts and snapshots.

Limits and scenarios are edited here; alerts and snapshots are computed, so they are read-only
and alerts change state only through `acknowledge_alert`, as on the page and the API.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.core.actors import actor
from apps.core.templatetags.pms_format import num, pct
from apps.positions.scoped import FundScopedAdmin, scope_form
from apps.risk.forms import AcknowledgeForm, DefaultLimitsForm, LimitForm, StressScenarioForm
from apps.risk.models import Alert, Limit, RiskSnapshot, StressScenario
from apps.risk.services import acknowledge_alert, ensure_default_limits, save_limit


class ReadOnlyAdmin(FundScopedAdmin):
    """Computed by the engine: visible, never typed in."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Limit)
class LimitAdmin(FundScopedAdmin, SimpleHistoryAdmin):
    form = LimitForm
    list_display = (
        "portfolio",
        "metric",
        "scope",
        "scope_value",
        "warning_level",
        "hard_level",
        "active",
        "updated_at",
    )
    list_filter = ("portfolio", "metric", "scope", "active")
    search_fields = ("portfolio__code", "portfolio__name", "scope_value")
    list_select_related = ("portfolio",)
    readonly_fields = ("created_at", "updated_at")
    change_list_template = "risk/admin_limit_changelist.html"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # alerts point at limits, and the history tells who changed what: deactivate

    def save_model(self, request: HttpRequest, obj: Limit, form: Any, change: bool) -> None:
        """Through the service: the change and its reason are journaled (old → new)."""
        obj._history_user = request.user  # type: ignore[attr-defined]  # as SimpleHistoryAdmin
        save_limit(obj, by=actor(request), reason=form.cleaned_data["reason"], old=form.old)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.default_limits_view)
        return [path("defaults/", view, name="risk_limit_defaults"), *super().get_urls()]

    def default_limits_view(self, request: HttpRequest) -> HttpResponse:
        """Give a fund the standard portfolio-level limits it does not have yet."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DefaultLimitsForm(request.POST or None)
        scope_form(form, request.user)
        if request.method == "POST" and form.is_valid():
            portfolio = form.cleaned_data["portfolio"]
            added = ensure_default_limits(portfolio, by=actor(request))
            text = f"{portfolio}: {added} default limit{'s' if added != 1 else ''} added."
            if not added:
                text = f"{portfolio} already has every default limit; nothing was changed."
            self.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:risk_limit_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Add the default limits to a fund",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "risk/admin_default_limits.html", context)


@admin.register(StressScenario)
class StressScenarioAdmin(admin.ModelAdmin):
    form = StressScenarioForm
    list_display = ("name", "code", "kind", "source_start", "source_end", "active", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "description")
    prepopulated_fields = {"code": ("name",)}
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # snapshots name the scenarios they ran: deactivate instead


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "date",
        "portfolio",
        "limit",
        "level",
        "value",
        "utilisation_pct",
        "status",
        "acknowledged_by",
        "acknowledged_at",
    )
    list_filter = ("status", "level", "portfolio", "date")
    search_fields = ("note", "portfolio__code")
    list_select_related = ("portfolio", "limit", "acknowledged_by")
    date_hierarchy = "date"
    actions = ("acknowledge_selected",)

    @admin.display(description="Use of hard", ordering="utilisation")
    def utilisation_pct(self, alert: Alert) -> str:
        return pct(alert.utilisation, 0)

    @admin.action(description="Acknowledge the selected alerts (note required)…")
    def acknowledge_selected(
        self, request: HttpRequest, queryset: QuerySet[Alert]
    ) -> HttpResponse | None:
        form = AcknowledgeForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            error = self._acknowledge_each(request, queryset, form.cleaned_data["note"])
            if not error:
                return None
            form.add_error("note", error)
        context = {
            **self.admin_site.each_context(request),
            "title": "Acknowledge alerts",
            "opts": self.model._meta,
            "queryset": queryset.select_related("limit", "portfolio"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "risk/admin_acknowledge.html", context)

    def _acknowledge_each(self, request: HttpRequest, queryset: QuerySet[Alert], note: str) -> str:
        """Acknowledge each alert; a missing note stops before any (returned as the error)."""
        done = []
        for alert in queryset:
            try:
                acknowledge_alert(alert, by=actor(request), note=note)
            except ValidationError as error:
                if hasattr(error, "error_dict") and "note" in error.error_dict:
                    return " ".join(error.messages)
                self.message_user(
                    request, f"#{alert.pk} not acknowledged: {' '.join(error.messages)}", "error"
                )
            except PermissionDenied as error:
                self.message_user(request, f"Not acknowledged: {error}", messages.ERROR)
                return ""
            else:
                done.append(f"#{alert.pk}")
        if done:
            self.message_user(request, f"Acknowledged: {', '.join(done)}.", messages.SUCCESS)
        return ""


@admin.register(RiskSnapshot)
class RiskSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("date", "portfolio", "var99_brl", "var99_nav", "es975_brl", "scenarios")
    list_filter = ("portfolio",)
    list_select_related = ("portfolio",)
    date_hierarchy = "date"
    fields = ("portfolio", "date", "computed_at", "report_json")
    readonly_fields = fields

    @admin.display(description="VaR 99 (R$)")
    def var99_brl(self, snapshot: RiskSnapshot) -> str:
        return num(snapshot.report.get("var99"), 0)

    @admin.display(description="VaR 99 (% NAV)")
    def var99_nav(self, snapshot: RiskSnapshot) -> str:
        nav = snapshot.report.get("nav") or 0
        return pct(snapshot.report.get("var99", 0) / nav, 2) if nav else "—"

    @admin.display(description="ES 97.5 (R$)")
    def es975_brl(self, snapshot: RiskSnapshot) -> str:
        return num(snapshot.report.get("es975"), 0)

    @admin.display(description="Scenarios")
    def scenarios(self, snapshot: RiskSnapshot) -> Any:
        return snapshot.report.get("scenarios")

    @admin.display(description="Report")
    def report_json(self, snapshot: RiskSnapshot) -> str:
        text = json.dumps(snapshot.report, indent=2, ensure_ascii=False)
        return format_html('<pre style="max-height:40rem;overflow:auto">{}</pre>', text)
