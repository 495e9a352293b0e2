"""Forms of the book pages: a position's plan (trade entry and reversal: `apps.trading`)."""

from __future__ import annotations

from django import forms

from apps.core.inputs import FreeTextField


class PositionPlanForm(forms.Form):
    thesis = FreeTextField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    stop = forms.DecimalField(max_digits=24, decimal_places=8, required=False)
    target = forms.DecimalField(max_digits=24, decimal_places=8, required=False)
