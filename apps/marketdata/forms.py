"""Back-office forms: file uploads for the importers and the manual price override."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core.actors import acting_user
from apps.core.inputs import FreeTextField
from apps.marketdata import services
from apps.marketdata.models import SettlementPrice
from apps.marketdata.validators import validate_quoted_rate

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class _Upload(forms.Form):
    file = forms.FileField()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                f"The file is larger than the {limit:,}-byte limit ({upload.size:,} bytes)."
            )
        return upload


class PriceCsvUploadForm(_Upload):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, header date,ticker,price,rate; rate in % as published (14.901).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class B3ReportUploadForm(_Upload):
    file = forms.FileField(
        label="B3 price report",
        help_text="The daily BVBG.187 report from B3: SPRD*.zip as downloaded, or its XML.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.xml"}),
    )


class _DryRun(Exception):  # control flow only: never escapes the form
    pass


class ManualPriceForm(forms.ModelForm):
    """A manual override: the service's own checks run at validation so errors show here."""

    rate_pct = forms.DecimalField(
        label="Rate (%)",
        required=False,
        max_digits=12,
        decimal_places=6,
        help_text="As published, e.g. 14.901 for rate-quoted futures; stored as 0.14901.",
    )
    reason = FreeTextField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the exchange/import price is not right. Kept in the price's history.",
    )

    # Set by the admin from the request: the service checks this user's role.
    user: User | None = None

    class Meta:
        model = SettlementPrice
        fields = ("instrument", "date", "price", "rate_pct", "reason")

    @property
    def rate(self) -> Decimal | None:
        pct = self.cleaned_data.get("rate_pct")
        return None if pct is None else pct.scaleb(-2)

    def clean_rate_pct(self) -> Decimal | None:
        pct: Decimal | None = self.cleaned_data.get("rate_pct")
        validate_quoted_rate(None if pct is None else pct.scaleb(-2))
        return pct

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # Run the real service in a savepoint that is always rolled back: its permission and
        # date checks are the rules, and ModelAdmin.save_model cannot report errors to the form.
        try:
            with transaction.atomic():
                self.override()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            self.add_error(None, exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or "You may not override prices.")
        return cleaned

    def override(self) -> SettlementPrice:
        """Call the override service with the form's values."""
        return services.override_price(
            self.cleaned_data["instrument"],
            self.cleaned_data["date"],
            price=self.cleaned_data["price"],
            rate=self.rate,
            reason=self.cleaned_data["reason"],
            by=acting_user(self.user),
        )
