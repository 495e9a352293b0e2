"""Back office for portfolios, strategies and flows; positions and marks read-only.

Trades' admin (entry and the reversal action) is `apps.trading.admin`: it books trades."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.core.actors import actor
from apps.positions import services
from apps.positions.models import (
    CapitalFlow,
    DailyMark,
    NavRecord,
    Portfolio,
    Position,
    Strategy,
)


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
