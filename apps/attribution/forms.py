"""The fund and period of an attribution request, shared by the page, its CSV and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.attribution.queries import PERIODS, Period, marked_range, resolve_period
from apps.positions.models import NavRecord, Portfolio

DEFAULT_PERIOD = "ytd"


class IsoDateField(forms.DateField):
    """A YYYY-MM-DD date whose error message repeats what was typed."""

    input_formats = ["%Y-%m-%d"]

    def to_python(self, value: Any) -> date | None:
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                "%(value)r is not a date (use YYYY-MM-DD).", code="invalid", params={"value": value}
            ) from None


class PeriodForm(forms.Form):
    """`portfolio` (code; default the first active fund), `period` and, for custom, `start`/`end`.

    `cleaned_data["resolved"]` is the `Period` checked against the fund's marked history."""

    portfolio = forms.ModelChoiceField(
        queryset=Portfolio.objects.active(),
        to_field_name="code",
        required=False,
        error_messages={"invalid_choice": "No active portfolio %(value)r."},
    )
    period = forms.CharField(required=False)
    start = IsoDateField(required=False)
    end = IsoDateField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        portfolio = data.get("portfolio") or self.funds().first()
        data["portfolio"] = portfolio
        if portfolio is None:
            return data
        start, end = data.get("start"), data.get("end")
        key = (data.get("period") or "").strip().lower()
        key = key or ("custom" if start or end else DEFAULT_PERIOD)
        data["period"] = key
        first, last = marked_range(portfolio)
        if key == "custom" and first is not None and last is not None:
            _check_custom(portfolio, start, end, first, last)
        elif key in PERIODS:
            start = end = None  # a named period runs to the latest marked day
        data["resolved"] = resolve_period(portfolio, key, start=start, end=end)
        return data

    @property
    def chosen_portfolio(self) -> Portfolio | None:
        """The fund asked for, even when the period was refused (to keep the selector on it)."""
        cleaned = getattr(self, "cleaned_data", {})
        chosen = cleaned.get("portfolio")
        if isinstance(chosen, Portfolio):
            return chosen
        code = self.data.get("portfolio", "")
        return self.funds().filter(code=code).first() if code else None

    def funds(self) -> Any:
        """The funds to choose from (the view narrows them to the user's: `scope_form`)."""
        return self.fields["portfolio"].queryset  # type: ignore[attr-defined]

    def resolved(self) -> Period | None:
        """The period when the form is valid, else None."""
        return self.cleaned_data.get("resolved") if self.is_valid() else None

    def messages(self) -> list[str]:
        """Every error as one readable sentence (field errors named by their field)."""
        out = []
        for name, errors in self.errors.items():
            for message in errors:
                text = str(message)
                out.append(text if name == "__all__" else f"{name.capitalize()}: {text}")
        return out


def _check_custom(
    portfolio: Portfolio, start: date | None, end: date | None, first: date, last: date
) -> None:
    """Refuse, with the dates the user typed, what `resolve_period` would refuse less clearly."""
    if start is None:
        raise ValidationError("A custom period needs a start date (YYYY-MM-DD).")
    if end is not None and end < start:
        raise ValidationError(
            f"The range is reversed: the start {start:%d/%m/%Y} is after the end {end:%d/%m/%Y}."
        )
    if start < portfolio.inception_date:
        raise ValidationError(
            f"{start:%d/%m/%Y} is before the inception of {portfolio} "
            f"({portfolio.inception_date:%d/%m/%Y}); start on or after it."
        )
    if start > last:
        raise ValidationError(
            f"No marks from {start:%d/%m/%Y}: the last marked day of {portfolio} "
            f"is {last:%d/%m/%Y}."
        )
    if end is not None and end < first:
        raise ValidationError(
            f"No marks up to {end:%d/%m/%Y}: {portfolio} was first marked on {first:%d/%m/%Y}."
        )
    marked = NavRecord.objects.filter(
        portfolio=portfolio, date__range=(start, min(end or last, last))
    )
    if not marked.exists():
        raise ValidationError(
            f"No marked day between {start:%d/%m/%Y} and {min(end or last, last):%d/%m/%Y} "
            "(a weekend or a holiday?): widen the range."
        )


class SnapshotForm(forms.Form):
    """`portfolio` (code; default the first active fund) and `date` (default the latest)."""

    portfolio = forms.ModelChoiceField(
        queryset=Portfolio.objects.active(),
        to_field_name="code",
        required=False,
        error_messages={"invalid_choice": "No active portfolio %(value)r."},
    )
    date = IsoDateField(required=False)

    def clean_portfolio(self) -> Portfolio:
        funds = self.fields["portfolio"].queryset  # type: ignore[attr-defined]
        portfolio = self.cleaned_data.get("portfolio") or funds.first()
        if portfolio is None:
            raise ValidationError("No active portfolio yet.")
        return portfolio
