"""Back office for instruments, settlement prices and fixings."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from apps.core.actors import actor
from apps.marketdata.forms import B3ReportUploadForm, ManualPriceForm, PriceCsvUploadForm
from apps.marketdata.importers import (
    ImportFailed,
    ImportResult,
    import_b3_report,
    import_price_csv,
)
from apps.marketdata.models import Fixing, Instrument, Issuer, PriceRevision, SettlementPrice

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
        "issuer",
        "foreign",
        "active",
    )
    list_filter = ("kind", "asset_class", "currency", "foreign", "active")
    list_select_related = ("issuer",)
    autocomplete_fields = ("issuer",)
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


def _binary(upload: UploadedFile) -> IO[bytes]:
    if upload.file is None:  # only for a closed upload; the form has just received it
        raise ImportFailed([f"{upload.name}: the upload could not be read"])
    return cast(IO[bytes], upload.file)


def _import_csv(upload: UploadedFile, user: User) -> ImportResult:
    text = io.TextIOWrapper(_binary(upload), encoding="utf-8-sig", newline="")
    return import_price_csv(text, filename=upload.name, user=user)


def _import_b3(upload: UploadedFile, user: User) -> ImportResult:
    return import_b3_report(_binary(upload), filename=upload.name, user=user)


@admin.register(SettlementPrice)
class SettlementPriceAdmin(admin.ModelAdmin):
    list_display = ("date", "instrument", "price", "rate_pct", "source", "created_by", "created_at")
    list_filter = ("source", "instrument__kind", "date")
    list_select_related = ("instrument", "created_by")
    search_fields = ("instrument__ticker",)
    date_hierarchy = "date"
    inlines = [PriceRevisionInline]
    readonly_fields = ("created_by", "created_at")
    autocomplete_fields = ("instrument",)
    change_list_template = "admin/marketdata/settlementprice/change_list.html"
    import_template = "admin/marketdata/settlementprice/import.html"

    @admin.display(description="Rate %", ordering="rate")
    def rate_pct(self, obj: SettlementPrice) -> str:
        return "" if obj.rate is None else f"{obj.rate * 100:.3f}"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # corrections go through a manual override with a reason

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- The "add" page is a manual override through services.override_price ---------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ManualPriceForm
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            form.user = request.user  # type: ignore[attr-defined]  # a fresh class per request
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ManualPriceForm.Meta.fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return [] if obj is None else super().get_inlines(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        assert isinstance(form, ManualPriceForm) and not change
        row = form.override()  # writes the MANUAL row and its PriceRevision
        # The admin goes on with `obj` (message, log entry, redirect): make it the stored row,
        # which may be an existing manual price of that day that the service updated.
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))
        obj._state.adding = False
        obj._state.db = row._state.db

    # --- Upload pages ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name=f"{name}_import_csv",
            ),
            path(
                "import-b3/",
                self.admin_site.admin_view(self.import_b3_view),
                name=f"{name}_import_b3",
            ),
            *super().get_urls(),
        ]

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        return self._import_view(
            request, PriceCsvUploadForm, _import_csv, title="Import settlement prices (CSV)"
        )

    def import_b3_view(self, request: HttpRequest) -> HttpResponse:
        return self._import_view(
            request, B3ReportUploadForm, _import_b3, title="Import B3 price report (BVBG.187)"
        )

    def _import_view(
        self,
        request: HttpRequest,
        form_class: type[forms.Form],
        run: Callable[[UploadedFile, User], ImportResult],
        *,
        title: str,
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = form_class(request.POST, request.FILES) if request.method == "POST" else form_class()
        result: ImportResult | None = None
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = run(upload, actor(request))
            except ImportFailed as exc:
                errors = exc.errors
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "result": result,
            "errors": errors,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, self.import_template, context)


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


@admin.register(Issuer)
class IssuerAdmin(admin.ModelAdmin):
    list_display = ("name", "cnpj", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "cnpj")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # instruments point at it
