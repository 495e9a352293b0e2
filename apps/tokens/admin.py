"""API tokens in the back office: issue (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.actors import actor
from apps.tokens.models import ApiToken
from apps.tokens.services import issue_token, revoke_token


class IssueTokenForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1, max_value=3650, help_text="Valid for this many days from now."
    )

    class Meta:
        model = ApiToken
        fields = ("user", "name")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.API_TOKEN_DAYS


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "status", "created_at", "expires_at", "last_used_at")
    list_filter = ("revoked_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__username")
    actions = ["revoke"]
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = IssueTokenForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("user", "name", "days")

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing of an issued token is edited; revoke it instead
        data = form.cleaned_data
        issued = issue_token(data["user"], name=data["name"], days=data["days"])
        obj.pk = issued.token.pk
        messages.warning(
            request,
            f"The key of {issued.token.name!r}, shown this once (it is stored hashed): "
            f"{issued.key}",
        )

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            revoke_token(token, by=actor(request))
        messages.success(request, f"{queryset.count()} token(s) revoked.")
