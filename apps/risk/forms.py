"""Forms of the risk monitor and its back office: acknowledge, compute, scenarios, defaults.

They only shape the input; the rules (who may acknowledge, that a note is mandatory) are the
services', and a service's `ValidationError` is put back on the field it names.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from rest_framework.exceptions import ParseError

from apps.core.inputs import FreeTextField, check_json
from apps.marketdata.models import AssetClass
from apps.positions.models import Portfolio
from apps.risk.models import SHOCK_KEYS, Limit, Metric, Scope, StressScenario
from apps.risk.services import LIMIT_FIELDS, setting_values

# What `services.metric_values` measures below the fund level (anything else never fires).
SCOPED_METRICS: dict[str, set[str]] = {
    Scope.STRATEGY: {Metric.GROSS, Metric.NET, Metric.VAR_99},
    Scope.ASSET_CLASS: {Metric.GROSS, Metric.NET},
}
SHOCK_EXAMPLE = '{"di_bp": {"21": 100, "252": 150, "1260": 200}, "usdbrl_pct": 10}'


class AcknowledgeForm(forms.Form):
    # Not `required`: the service says why a note is needed, in one place for page, API, admin.
    note = FreeTextField(
        required=False,
        max_length=1000,
        label="Note",
        widget=forms.TextInput(attrs={"placeholder": "What is being done about it?"}),
    )


class ComputeForm(forms.Form):
    portfolio = forms.ModelChoiceField(Portfolio.objects.active(), to_field_name="code")
    date = forms.DateField()


class RecomputeForm(forms.Form):
    portfolio = forms.ModelChoiceField(Portfolio.objects.active(), to_field_name="code")
    date = forms.DateField(required=False, help_text="A dated view's snapshot; none: the risk now.")


def shocks_help() -> SafeString:
    """The shock keys a scenario may use, as an HTML list for the admin's help text."""
    items = format_html_join("", "<li><code>{}</code>: {}</li>", SHOCK_KEYS.items())
    return format_html(
        "A JSON object with any of:<ul>{}</ul>Example: <code>{}</code>", items, SHOCK_EXAMPLE
    )


class PrettyJSONField(forms.JSONField):
    """Shows the stored JSON indented, so a scenario's vertex maps are readable; refuses what
    the API's parser refuses (NUL characters, which jsonb rejects, and deep nesting)."""

    def to_python(self, value: Any) -> Any:
        try:
            data = super().to_python(value)
        except RecursionError:
            raise forms.ValidationError("The JSON is nested too deeply.") from None
        try:
            check_json(data, max_depth=settings.API_MAX_JSON_DEPTH)
        except ParseError as error:
            raise forms.ValidationError(str(error.detail)) from None
        return data

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class StressScenarioForm(forms.ModelForm):
    description = FreeTextField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    shocks = PrettyJSONField(
        help_text=shocks_help(), widget=forms.Textarea(attrs={"rows": 12, "cols": 70})
    )

    class Meta:
        model = StressScenario
        fields = (
            "code",
            "name",
            "kind",
            "description",
            "source_start",
            "source_end",
            "shocks",
            "active",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("source_start"), data.get("source_end")
        if start and end and end < start:
            self.add_error("source_end", "The episode cannot end before it starts.")
        return data


class DefaultLimitsForm(forms.Form):
    portfolio = forms.ModelChoiceField(
        Portfolio.objects.active(),
        help_text="Adds the standard portfolio-level limits it does not have yet; "
        "existing limits are left as they are.",
    )


class LimitForm(forms.ModelForm):
    reason = FreeTextField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this limit is added or changed: journaled with the old and new values.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The values before this edit, for the journal (validation changes the instance).
        self.old = setting_values(self.instance, LIMIT_FIELDS) if self.instance.pk else None

    class Meta:
        model = Limit
        fields = (
            "portfolio",
            "metric",
            "scope",
            "scope_value",
            "warning_level",
            "hard_level",
            "active",
        )
        help_texts = {
            "warning_level": "Fractions of NAV for the % metrics (0.025 = 2.5 %; gross 4.0 = "
            "400 %); R$ per bp for DV01; US$ for FX delta.",
            "hard_level": "Same unit; at or above it an alert is a hard breach, and a proposal "
            "whose what-if crosses it needs an override note to be approved.",
        }

    def clean(self) -> dict[str, Any]:
        """A limit the engine cannot measure would silently never fire: refuse it."""
        super().clean()
        data = self.cleaned_data
        scope, value = data.get("scope"), (data.get("scope_value") or "").strip()
        portfolio, metric = data.get("portfolio"), data.get("metric")
        data["scope_value"] = value
        if scope == Scope.PORTFOLIO and value:
            self.add_error("scope_value", "A portfolio-wide limit has no scope value.")
        elif scope == Scope.STRATEGY and portfolio is not None:
            codes = set(portfolio.strategies.values_list("code", flat=True))
            if value not in codes:
                self.add_error("scope_value", f"Not a strategy of {portfolio}: {sorted(codes)}.")
        elif scope == Scope.ASSET_CLASS and value not in AssetClass.values:
            self.add_error("scope_value", f"Not an asset class: use one of {AssetClass.values}.")
        measurable = SCOPED_METRICS.get(str(scope or ""), set(Metric.values))
        if metric and metric not in measurable:
            self.add_error("metric", f"{Metric(metric).label} is measured for the whole fund only.")
        return data
