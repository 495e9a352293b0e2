"""Back office for portfolios, strategies and flows; positions and marks read-only.

Trades' admin (entry and the reversal action) is `apps.trading.admin`: it books trades."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.core.actors import actor
from apps.core.inputs import FreeTextField
from apps.positions import grants, services
from apps.positions.grants import grant_values
from apps.positions.models import (
    CapitalFlow,
    DailyMark,
    FundAccess,
    NavRecord,
    Portfolio,
    Position,
    Strategy,
)
from apps.positions.scoped import FundScopedAdmin


class ReadOnlyAdmin(FundScopedAdmin):
    """Projections computed by the engine: visible, never typed in."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StrategyInline(admin.TabularInline):
    model = Strategy
    extra = 0
    fields = ("code", "name", "active")


@admin.register(Portfolio)
class PortfolioAdmin(FundScopedAdmin):
    fund_field = "pk"
    list_display = ("code", "name", "inception_date", "initial_nav", "active")
    search_fields = ("code", "name")
    inlines = [StrategyInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CapitalFlow)
class CapitalFlowAdmin(FundScopedAdmin):
    list_display = ("date", "portfolio", "kind", "amount", "note", "created_by")
    list_filter = ("portfolio", "kind")
    list_select_related = ("portfolio", "created_by")
    fields = ("portfolio", "date", "kind", "amount", "note")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CapitalFlow, form: Any, change: bool) -> None:
        saved = services.record_flow(
            obj.portfolio,
            day=obj.date,
            kind=obj.kind,
            amount=obj.amount,
            note=obj.note,
            by=actor(request),
        )
        obj.pk = saved.pk


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = (
        "portfolio",
        "strategy",
        "instrument",
        "quantity",
        "avg_cost",
        "realized_pnl",
        "opened_date",
        "closed_date",
    )
    list_filter = ("portfolio", "strategy", "instrument__kind")
    list_select_related = ("portfolio", "strategy", "instrument")
    search_fields = ("instrument__ticker", "thesis")


@admin.register(DailyMark)
class DailyMarkAdmin(ReadOnlyAdmin):
    list_display = (
        "date",
        "position",
        "quantity",
        "price",
        "pnl_brl",
        "pnl_fx_brl",
        "cum_pnl_brl",
        "exposure_brl",
    )
    list_filter = ("portfolio", "date")
    list_select_related = ("position__instrument", "position__strategy")
    date_hierarchy = "date"


@admin.register(NavRecord)
class NavRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "date",
        "portfolio",
        "nav_open",
        "pnl_brl",
        "cash_interest_brl",
        "fees_brl",
        "flows_brl",
        "nav_close",
    )
    list_filter = ("portfolio",)
    date_hierarchy = "date"


class FundAccessForm(forms.ModelForm):  # type: ignore[type-arg]
    reason = FreeTextField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this access is granted or changed: journaled with the old and new values.",
    )

    class Meta:
        model = FundAccess
        fields = ("user", "group", "portfolio", "all_funds", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The values before this edit, for the journal (validation changes the instance).
        self.old = grant_values(self.instance) if self.instance.pk else None


@admin.register(FundAccess)
class FundAccessAdmin(FundScopedAdmin):
    """Who may see which fund. Every grant, change and revocation needs a reason and is
    journaled; revoking is an action with its own reason (the delete page has none)."""

    form = FundAccessForm
    list_display = ("__str__", "user", "group", "portfolio", "all_funds", "note", "updated_at")
    list_filter = ("all_funds", "portfolio", "group")
    list_select_related = ("user", "group", "portfolio")
    search_fields = ("user__username", "group__name", "portfolio__code", "note")
    readonly_fields = ("created_at", "updated_at")
    actions = ("revoke_selected",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked through the action, with a reason

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("positions.delete_fundaccess"):
            actions.pop("revoke_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: FundAccess, form: Any, change: bool) -> None:
        """Through the service: the change and its reason are journaled (old → new); an
        "all funds" grant by someone who does not see every fund is refused (403)."""
        reason = form.cleaned_data["reason"]
        grants.save_grant(obj, by=actor(request), reason=reason, old=form.old)

    @admin.action(description="Revoke the selected grants (reason required)…")
    def revoke_selected(
        self, request: HttpRequest, queryset: QuerySet[FundAccess]
    ) -> HttpResponse | None:
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("post") == "yes" and reason:
            done = []
            for grant in queryset:
                try:
                    grants.revoke_grant(grant, by=actor(request), reason=reason)
                except (PermissionDenied, ValidationError) as error:
                    problem = " ".join(getattr(error, "messages", [str(error)]))
                    self.message_user(request, f"{grant} not revoked: {problem}", messages.ERROR)
                else:
                    done.append(str(grant))
            if done:
                self.message_user(request, f"Revoked: {'; '.join(done)}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke fund access",
            "opts": self.model._meta,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "error": "Say why: revoking fund access needs a reason."
            if request.POST.get("post") == "yes"
            else "",
        }
        return TemplateResponse(request, "positions/admin_revoke.html", context)
