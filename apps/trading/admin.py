"""The back office's trade entry and reversal action (positions.Trade's admin).

Trades are booked through `apps.trading.services`, like the pages and the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.actors import acting_user, actor
from apps.positions.models import Trade
from apps.positions.services import TradeTicket
from apps.trading import services


class TradeForm(forms.ModelForm):
    user: Any = None  # set by TradeAdmin.get_form: the service checks who records the trade

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
            self.instance = services.book_trade(ticket, by=acting_user(self.user), remark=False)
        except ValidationError as error:
            self.add_error(None, error)
        except PermissionDenied as error:
            self.add_error(None, str(error))

    def _ticket(self) -> TradeTicket | None:
        data = self.cleaned_data
        needed = ("portfolio", "strategy", "instrument", "side", "quantity", "trade_date")
        if self.errors or any(data.get(k) is None for k in needed):
            return None
        return TradeTicket.from_cleaned(data)


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
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
                services.reverse_trade(
                    trade, by=actor(request), reason="Back-office correction", remark=False
                )
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, f"Trade #{trade.pk}: {'; '.join(_messages(error))}")
            else:
                messages.success(request, f"Trade #{trade.pk} reversed.")


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]
