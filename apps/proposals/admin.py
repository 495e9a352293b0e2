"""Proposals and signal rules in the back office.

A proposal is never edited here: every field is read-only, and the workflow runs through admin
actions that call the same services as the blotter and the API (so four eyes, roles and the
journal apply). Rejecting asks for the note on an intermediate page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from apps.core.actors import actor
from apps.journal.admin import EntryAdmin
from apps.journal.models import Entry
from apps.positions.scoped import FundScopedAdmin
from apps.proposals import services
from apps.proposals.models import Proposal, SignalRule
from apps.proposals.rules import rule_names

EXPIRE_ACTION = "expire_past"


def _outcome(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@admin.register(Proposal)
class ProposalAdmin(FundScopedAdmin):
    list_display = (
        "id",
        "business_date",
        "portfolio",
        "instrument",
        "side",
        "quantity",
        "limit_price",
        "limit_rate",
        "status",
        "source",
        "proposed_by",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "portfolio", "source", "business_date", "conviction")
    search_fields = ("instrument__ticker", "rationale", "decision_note", "source")
    list_select_related = ("portfolio", "instrument", "proposed_by", "decided_by")
    date_hierarchy = "business_date"
    actions = ("approve_selected", "reject_selected", EXPIRE_ACTION)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Proposal._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposals come from the blotter, the API or the rules

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Proposal], verb: str, **kwargs: Any
    ) -> None:
        decide = services.approve_proposal if verb == "approved" else services.reject_proposal
        done = []
        for proposal in queryset:
            try:
                decide(proposal, by=actor(request), **kwargs)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(
                    request, f"#{proposal.pk} not {verb}: {_outcome(error)}", messages.ERROR
                )
            else:
                done.append(f"#{proposal.pk}")
        if done:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(done)}.", messages.SUCCESS)

    @admin.action(description="Approve the selected proposals (as proposed)")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        self._each(request, queryset, "approved")

    @admin.action(description="Reject the selected proposals (note required)…")
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Proposal]
    ) -> HttpResponse | None:
        note = request.POST.get("note", "").strip()
        if request.POST.get("post") == "yes" and note:
            self._each(request, queryset, "rejected", note=note)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject proposals",
            "opts": self.model._meta,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "error": "Say why: rejecting a proposal needs a note."
            if request.POST.get("post") == "yes"
            else "",
        }
        return TemplateResponse(request, "proposals/admin_reject.html", context)

    @admin.action(description="Expire every pending proposal past its trading day")
    def expire_past(self, request: HttpRequest, queryset: QuerySet[Proposal]) -> None:
        expired = services.expire_proposals()
        listed = ", ".join(f"#{p.pk}" for p in expired) or "none were due"
        self.message_user(request, f"Expired {len(expired)}: {listed}.", messages.SUCCESS)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Expiry concerns every proposal past its day, so it runs without a selection.
        if (
            request.method == "POST"
            and request.POST.get("action") == EXPIRE_ACTION
            and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        ):
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            self.expire_past(request, self.get_queryset(request).none())
            return HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)


def _rules_help() -> str:
    rows = format_html_join(
        "", "<li><code>{}</code>: {}</li>", ((name, doc) for name, doc in rule_names())
    )
    return format_html("Rules in the registry:<ul>{}</ul>", rows)


class SignalRuleForm(forms.ModelForm):
    name = forms.ChoiceField()

    class Meta:
        model = SignalRule
        fields = ("portfolio", "strategy", "name", "enabled", "size", "params")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.fields["name"]
        assert isinstance(name, forms.ChoiceField)
        name.choices = [(rule, rule) for rule, _ in rule_names()]
        name.help_text = _rules_help()
        self.fields["params"].help_text = (
            'Thresholds as JSON, e.g. {"min_spread_bp": 75, "target_du": 252} for di1_carry; '
            "a missing key takes the rule's default."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        strategy, portfolio = data.get("strategy"), data.get("portfolio")
        if strategy and portfolio and strategy.portfolio_id != portfolio.pk:
            self.add_error("strategy", f"{strategy} is not a strategy of {portfolio}.")
        if not isinstance(data.get("params", {}), dict):
            self.add_error("params", "Params must be a JSON object.")
        return data


@admin.register(SignalRule)
class SignalRuleAdmin(FundScopedAdmin):
    form = SignalRuleForm
    list_display = ("name", "portfolio", "strategy", "enabled", "size", "params", "updated_at")
    list_editable = ("enabled", "size")
    list_filter = ("enabled", "portfolio", "name")
    search_fields = ("name",)
    list_select_related = ("portfolio", "strategy")
    actions = ("enable", "disable")

    @admin.action(description="Enable the selected rules")
    def enable(self, request: HttpRequest, queryset: QuerySet[SignalRule]) -> None:
        self._switch(request, queryset, on=True)

    @admin.action(description="Disable the selected rules")
    def disable(self, request: HttpRequest, queryset: QuerySet[SignalRule]) -> None:
        self._switch(request, queryset, on=False)

    def _switch(self, request: HttpRequest, queryset: QuerySet[SignalRule], *, on: bool) -> None:
        # save() per row (not update()) so the signals that flush caches fire.
        for rule in queryset:
            rule.enabled = on
            rule.save(update_fields=["enabled", "updated_at"])
        state = "enabled" if on else "disabled"
        self.message_user(request, f"{queryset.count()} rule(s) {state}.", messages.SUCCESS)


# The journal's back-office list, narrowed to the user's funds (entries of no fund — the
# market, the settings — stay everyone's). The journal's floor cannot see funds: its admin is
# re-registered here, the lowest floor that does.
admin.site.unregister(Entry)


@admin.register(Entry)
class FundEntryAdmin(FundScopedAdmin, EntryAdmin):
    fund_unscoped = True
