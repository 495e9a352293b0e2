"""The selector (`apps.positions.access`) fitted to each interface: a form's choice fields, a
serializer's related fields, an admin's lists and dropdowns.

An id in a form or an API body naming a fund the user may not see is answered like an id that
does not exist: the field's own "not a valid choice" / "does not exist" error, nothing written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import ForeignKey, Model, QuerySet
from django.http import HttpRequest
from rest_framework import serializers

from apps.positions.access import visible
from apps.positions.models import Portfolio


def fund_field_of(model: type[Model]) -> str | None:
    """How a model's rows name their fund: "pk" for a portfolio, "portfolio_id" for a row
    with a portfolio, None for rows of no fund (instruments, users)."""
    if issubclass(model, Portfolio):
        return "pk"
    names = {f.name for f in model._meta.get_fields()}
    return "portfolio_id" if "portfolio" in names else None


def scoped(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """`queryset` narrowed to `user`'s funds when its rows belong to a fund."""
    field = fund_field_of(queryset.model)
    return queryset if field is None else visible(user, queryset, field=field)


def scope_form(form: forms.BaseForm, user: Any) -> None:
    """Narrow every model choice field of `form` whose rows belong to a fund to `user`'s."""
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = scoped(user, field.queryset)


class _FundScoped:
    """A DRF related field whose queryset is narrowed to the request user's funds (no request
    in the context: no fund, so nothing resolves)."""

    context: dict[str, Any]

    def get_queryset(self) -> QuerySet[Any]:
        rows: QuerySet[Any] = super().get_queryset()  # type: ignore[misc]
        request = self.context.get("request")
        return scoped(getattr(request, "user", None), rows)


class FundSlugRelatedField(_FundScoped, serializers.SlugRelatedField):  # type: ignore[type-arg]
    """A portfolio (or a fund's row) by slug, among the request user's funds."""


class FundPrimaryKeyRelatedField(_FundScoped, serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A fund's row by id, among the request user's funds."""


class FundScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """An admin whose lists, objects and foreign-key dropdowns are the user's funds only
    (superusers and "all funds" grants see every fund). `fund_field` names the row's fund."""

    fund_field = "portfolio_id"
    fund_unscoped = False  # True: rows of no fund (a firm-wide rule) are everyone's

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        return visible(request.user, rows, field=self.fund_field, unscoped=self.fund_unscoped)

    def get_list_filter(self, request: HttpRequest) -> Any:
        """A filter by fund lists only the funds of the rows the user sees."""
        return [
            (f, admin.RelatedOnlyFieldListFilter) if f == "portfolio" else f
            for f in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = scoped(request.user, field.queryset)
        return field
