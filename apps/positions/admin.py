"""Back office for portfolios, strategies, flows and trades; positions and marks read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.actors import acting_user, actor
from apps.positions import services
from apps.positions.models import (
    CapitalFlow,
    DailyMark,
    NavRecord,
    Portfolio,
    Position,
    Strategy,
    Trade,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
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
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "inception_date", "initial_nav", "active")
    search_fields = ("code", "name")
    inlines = [StrategyInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CapitalFlow)
class CapitalFlowAdmin(admin.ModelAdmin):
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


class TradeForm(forms.ModelForm):
    user: User | None = None  # set by TradeAdmin.get_form: the service checks who records the trade

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
            self.instance = services.record_trade(ticket, by=acting_user(self.user))
        except ValidationError as error:
            self.add_error(None, error)
        except PermissionDenied as error:
            self.add_error(None, str(error))

    def _ticket(self) -> services.TradeTicket | None:
        data = self.cleaned_data
        needed = ("portfolio", "strategy", "instrument", "side", "quantity", "trade_date")
        if self.errors or any(data.get(k) is None for k in needed):
            return None
        return services.TradeTicket(
            portfolio=data["portfolio"],
            strategy=data["strategy"],
            instrument=data["instrument"],
            side=data["side"],
            quantity=data["quantity"],
            trade_date=data["trade_date"],
            price=data.get("price"),
            rate=data.get("rate"),
            fees=data.get("fees") or Decimal("0"),
            broker=data.get("broker", ""),
            notes=data.get("notes", ""),
            settlement_date=data.get("settlement_date"),
        )


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
                services.reverse_trade(trade, by=actor(request), reason="Back-office correction")
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, f"Trade #{trade.pk}: {'; '.join(_messages(error))}")
            else:
                messages.success(request, f"Trade #{trade.pk} reversed.")


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]


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
