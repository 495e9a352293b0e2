"""The back office's trade entry and reversal action (positions.Trade's admin), the fat-finger
rules (every change journaled with its reason) and the override requests (read-only here).

Trades are booked through `apps.trading.services`, like the pages and the API: the same
pre-trade check, warnings confirmed with the "confirm warnings" box."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.actors import acting_user, actor
from apps.core.inputs import FreeTextField
from apps.positions.models import Trade
from apps.positions.scoped import FundScopedAdmin
from apps.positions.services import TradeTicket
from apps.risk.services import setting_values
from apps.trading import services
from apps.trading.models import FatFingerRule, OverrideRequest
from apps.trading.pretrade import TradeRefused
from apps.trading.rule_changes import RULE_FIELDS, save_rule


class TradeForm(forms.ModelForm):
    user: Any = None  # set by TradeAdmin.get_form: the service checks who records the trade
    confirm_warnings = forms.BooleanField(
        required=False,
        help_text="Book despite the pre-trade check's warnings (they are journaled). Blocks "
        "cannot be confirmed; a hard-limit breach needs an override from the trade page.",
    )

    class Meta:
        model = Trade
        fields = (
            "portfolio",
            "strategy",
            "instrument",
            "side",
            "quantity",
            "price",
            "rate",
            "trade_date",
            "settlement_date",
            "fees",
            "broker",
            "notes",
        )
        help_texts = {
            "rate": "For DI1/DAP/DDI and bonds: the rate as a decimal fraction (0.14901); "
            "leave the price empty and the PU is derived.",
            "side": "In price (PU) terms: buying DI1 PU is selling rate (dar taxa).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price"].required = False
        self.fields["settlement_date"].required = False

    def _post_clean(self) -> None:
        """Validation happens in the service (one set of rules for admin, UI and API)."""
        ticket = self._ticket()
        if ticket is None:
            return
        try:
            booked = services.book_trade(
                ticket,
                by=acting_user(self.user),
                remark=False,
                confirm_warnings=bool(self.cleaned_data.get("confirm_warnings")),
            )
        except TradeRefused as error:
            self._refused(error)
        except ValidationError as error:
            self.add_error(None, error)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        else:
            self.instance = booked.trade

    def _refused(self, error: TradeRefused) -> None:
        """The verdict's messages on the fields they name (the rest above the form)."""
        for name, said in error.message_dict.items():
            self.add_error(name if name in self.fields else None, said)

    def _ticket(self) -> TradeTicket | None:
        data = self.cleaned_data
        needed = ("portfolio", "strategy", "instrument", "side", "quantity", "trade_date")
        if self.errors or any(data.get(k) is None for k in needed):
            return None
        return TradeTicket.from_cleaned(data)


@admin.register(Trade)
class TradeAdmin(FundScopedAdmin):
    form = TradeForm
    list_display = (
        "id",
        "trade_date",
        "portfolio",
        "strategy",
        "instrument",
        "side",
        "quantity",
        "price",
        "fx_rate",
        "fees",
        "reverses",
        "created_by",
    )
    list_filter = ("portfolio", "strategy", "side", "instrument__kind", "trade_date")
    list_select_related = ("portfolio", "strategy", "instrument", "reverses", "created_by")
    search_fields = ("instrument__ticker", "broker", "notes")
    date_hierarchy = "trade_date"
    actions = ["reverse_selected"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # immutable: corrections by reversal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Trade, form: Any, change: bool) -> None:
        """The form's validation already recorded the trade through the service."""

    @admin.action(description="Reverse the selected trades (reason: back-office correction)")
    def reverse_selected(self, request: HttpRequest, queryset: QuerySet[Trade]) -> None:
        for trade in queryset:
            try:
                booked = services.reverse_trade(
                    trade, by=actor(request), reason="Back-office correction", remark=False
                )
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, f"Trade #{trade.pk}: {'; '.join(_messages(error))}")
            else:
                said = booked.verdict.blocks + booked.verdict.warnings
                warned = " ".join(r.message for r in said)
                kept = f" Pre-trade warnings (journaled): {warned}" if warned else ""
                messages.success(request, f"Trade #{trade.pk} reversed.{kept}")


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]


class FatFingerRuleForm(forms.ModelForm):
    reason = FreeTextField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this rule is added or changed: journaled with the old and new values.",
    )

    class Meta:
        model = FatFingerRule
        fields = ("portfolio", "instrument_kind", "rule", "warn_level", "block_level", "active")
        help_texts = {
            "warn_level": "At or above it the booker must confirm. Units: contracts or units "
            "(quantity); fraction of NAV (notional 0.25 = 25 %, FX delta; DV01 per bp "
            "0.0005 = 0.05 % of NAV per bp); fraction of the last settlement (price band "
            "0.05 = 5 %); bp (rate band).",
            "block_level": "Same unit; at or above it the ticket is refused.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.old = setting_values(self.instance, RULE_FIELDS) if self.instance.pk else None


@admin.register(FatFingerRule)
class FatFingerRuleAdmin(FundScopedAdmin):
    form = FatFingerRuleForm
    list_display = (
        "portfolio",
        "instrument_kind",
        "rule",
        "warn_level",
        "block_level",
        "active",
        "updated_at",
    )
    list_filter = ("portfolio", "rule", "instrument_kind", "active")
    list_select_related = ("portfolio",)
    search_fields = ("portfolio__code", "portfolio__name")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # every change is journaled: switch a rule off instead

    def save_model(self, request: HttpRequest, obj: FatFingerRule, form: Any, change: bool) -> None:
        """Through the service: the change and its reason are journaled (old → new)."""
        save_rule(obj, by=actor(request), reason=form.cleaned_data["reason"], old=form.old)


@admin.register(OverrideRequest)
class OverrideRequestAdmin(FundScopedAdmin):
    """Granted or declined on the overrides page (/book/overrides/), never edited here."""

    list_display = (
        "id",
        "created_at",
        "portfolio",
        "instrument",
        "side",
        "quantity",
        "status",
        "requested_by",
        "decided_by",
        "trade",
    )
    list_filter = ("status", "portfolio")
    list_select_related = ("portfolio", "instrument", "requested_by", "decided_by", "trade")
    search_fields = ("instrument__ticker", "reason", "note")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
