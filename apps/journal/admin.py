"""The journal in the back office: read-only (append-only, hash-chained)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.journal.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("seq", "created_at", "actor", "kind", "portfolio_id", "short_note")
    list_filter = ("kind", "portfolio_id", ("actor", admin.RelatedOnlyFieldListFilter))
    search_fields = ("note", "hash", "actor__username")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    ordering = ("-seq",)
    show_full_result_count = False  # a COUNT(*) over the whole chain on every page is waste

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Entry._meta.fields]

    @admin.display(description="note")
    def short_note(self, entry: Entry) -> str:
        return entry.note if len(entry.note) <= 80 else entry.note[:79] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
