"""Back office: morning packs are read-only history; the market calendar is edited here."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from apps.briefings.models import CalendarEvent, MorningPack
from apps.positions.scoped import FundScopedAdmin


@admin.register(MorningPack)
class MorningPackAdmin(FundScopedAdmin):
    """Every generation is kept as it was: nothing here adds, edits or deletes a pack."""

    list_display = (
        "business_date",
        "portfolio",
        "version",
        "source",
        "language",
        "model",
        "created_by",
        "created_at",
    )
    list_filter = ("source", "portfolio", "language")
    list_select_related = ("portfolio", "created_by")
    date_hierarchy = "business_date"
    search_fields = ("narrative", "rejection_reason", "prompt_hash")
    ordering = ("-business_date", "-version")
    fields = (
        "portfolio",
        "business_date",
        "version",
        "source",
        "language",
        "model",
        "prompt_hash",
        "rejection_reason",
        "timings",
        "created_by",
        "created_at",
        "narrative",
        "facts_version",
        "facts_pretty",
    )
    readonly_fields = fields

    @admin.display(description="Facts")
    def facts_pretty(self, pack: MorningPack) -> str:
        text = json.dumps(pack.facts, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CalendarEvent)
class CalendarEventAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "title")
    list_filter = ("kind",)
    search_fields = ("title",)
    date_hierarchy = "date"
    ordering = ("-date",)
