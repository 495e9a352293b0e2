"""The back office's compliance data: the rules (every change journaled with its reason), the
B3 margin per fund and day, the checks the EOD made and the breaches it opened (both
read-only: `services.acknowledge_breach` takes a breach's acknowledgement and its note)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.compliance.models import Breach, ComplianceRule, MarginRecord, RuleCheck
from apps.compliance.services import RULE_FIELDS, save_rule
from apps.core.actors import actor
from apps.core.inputs import FreeTextField
from apps.positions.scoped import FundScopedAdmin
from apps.risk.services import setting_values


class ComplianceRuleForm(forms.ModelForm):
    reason = FreeTextField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this rule is added or changed: journaled with the old and new values.",
    )

    class Meta:
        model = ComplianceRule
        fields = (
            "portfolio",
            "code",
            "name",
            "kind",
            "scope",
            "limit",
            "severity",
            "cure_days",
            "legal_basis",
            "active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.old = setting_values(self.instance, RULE_FIELDS) if self.instance.pk else None


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(FundScopedAdmin):
    form = ComplianceRuleForm
    list_display = ("portfolio", "code", "name", "kind", "scope", "limit", "severity", "active")
    list_filter = ("portfolio", "kind", "severity", "active")
    list_select_related = ("portfolio",)
    search_fields = ("code", "name", "legal_basis", "portfolio__code")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # every change is journaled and the checks point at it: switch it off

    def save_model(
        self, request: HttpRequest, obj: ComplianceRule, form: Any, change: bool
    ) -> None:
        """Through the service: the change and its reason are journaled (old → new)."""
        save_rule(obj, by=actor(request), reason=form.cleaned_data["reason"], old=form.old)


@admin.register(MarginRecord)
class MarginRecordAdmin(FundScopedAdmin):
    list_display = ("portfolio", "date", "amount_brl", "estimate", "source")
    list_filter = ("portfolio", "estimate")
    list_select_related = ("portfolio",)
    date_hierarchy = "date"
    readonly_fields = ("created_at", "updated_at")


@admin.register(RuleCheck)
class RuleCheckAdmin(FundScopedAdmin):
    list_display = ("portfolio", "date", "rule", "value", "limit", "status", "detail")
    list_filter = ("portfolio", "status", "rule__kind")
    list_select_related = ("portfolio", "rule")
    date_hierarchy = "date"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the EOD only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Breach)
class BreachAdmin(FundScopedAdmin):
    list_display = (
        "portfolio",
        "rule",
        "started_on",
        "deadline",
        "state",
        "last_value",
        "worst_value",
        "cured_on",
        "acknowledged_by",
    )
    list_filter = ("portfolio", "state", "rule__kind")
    list_select_related = ("portfolio", "rule", "acknowledged_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # opened by the EOD only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
