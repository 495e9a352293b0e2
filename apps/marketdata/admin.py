"""Back office for instruments, settlement prices and fixings."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.marketdata.models import Fixing, Instrument, PriceRevision, SettlementPrice


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = (
        "ticker",
        "name",
        "kind",
        "asset_class",
        "currency",
        "multiplier",
        "maturity",
        "quote_convention",
        "active",
    )
    list_filter = ("kind", "asset_class", "currency", "active")
    search_fields = ("ticker", "name", "underlying")
    date_hierarchy = "maturity"
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # instruments are deactivated, never deleted (prices point at them)


class PriceRevisionInline(admin.TabularInline):
    model = PriceRevision
    extra = 0
    can_delete = False
    readonly_fields = (
        "old_price",
        "old_rate",
        "new_price",
        "new_rate",
        "reason",
        "changed_by",
        "changed_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SettlementPrice)
class SettlementPriceAdmin(admin.ModelAdmin):
    list_display = ("date", "instrument", "price", "rate_pct", "source", "created_by", "created_at")
    list_filter = ("source", "instrument__kind", "date")
    list_select_related = ("instrument", "created_by")
    search_fields = ("instrument__ticker",)
    date_hierarchy = "date"
    inlines = [PriceRevisionInline]
    readonly_fields = ("created_by", "created_at")

    @admin.display(description="Rate %", ordering="rate")
    def rate_pct(self, obj: SettlementPrice) -> str:
        return "" if obj.rate is None else f"{obj.rate * 100:.3f}"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # corrections go through a manual override with a reason

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PriceRevision)
class PriceRevisionAdmin(admin.ModelAdmin):
    list_display = ("changed_at", "price", "old_price", "new_price", "reason", "changed_by")
    list_select_related = ("price__instrument", "changed_by")
    search_fields = ("price__instrument__ticker", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Fixing)
class FixingAdmin(admin.ModelAdmin):
    list_display = ("date", "index", "value", "source", "created_at")
    list_filter = ("index", "source")
    search_fields = ("index",)
    date_hierarchy = "date"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
