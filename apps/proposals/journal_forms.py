"""The journal page's filters and its note form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.inputs import FreeTextField
from apps.journal.models import Entry, EntryKind
from apps.positions.access import visible
from apps.positions.models import Portfolio, Position
from apps.positions.scoped import scope_form
from apps.proposals import journal_entries
from apps.proposals.models import Proposal

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SYSTEM = "system"
DATE_ERROR = "Enter a date as YYYY-MM-DD."


def _id_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        label=label,
        error_messages={"invalid": f"{label} must be a whole number (an id)."},
    )


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": f"{label}: {DATE_ERROR.lower()}"},
    )


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()), SAO_PAULO)


class EntryFilterForm(forms.Form):
    """GET filters; an invalid one is reported and ignored, the valid ones still apply."""

    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *EntryKind.choices])
    portfolio = forms.ChoiceField(required=False)
    actor = forms.ChoiceField(required=False)
    date_from = _date_field("Written from")
    date_to = _date_field("Written to")
    position = _id_field("Position")
    proposal = _id_field("Proposal")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = visible(user, Portfolio.objects.order_by("code")).values_list("code", "name")
        self._set_choices("portfolio", [("", "Any portfolio"), *codes])
        users = get_user_model().objects.order_by("username").values_list("username", flat=True)
        actors = [("", "Anyone"), (SYSTEM, "system"), *((u, u) for u in users)]
        self._set_choices("actor", actors)

    def _set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def apply(self, entries: QuerySet[Entry]) -> QuerySet[Entry]:
        """Narrow `entries` by every valid filter (call after `is_valid`)."""
        data = getattr(self, "cleaned_data", {})
        if kind := data.get("kind"):
            entries = entries.filter(kind=kind)
        if code := data.get("portfolio"):
            entries = journal_entries.in_portfolio(entries, code)
        if actor := data.get("actor"):
            entries = (
                entries.filter(actor__isnull=True)
                if actor == SYSTEM
                else entries.filter(actor__username=actor)
            )
        # Written on or after / before, in São Paulo days; a datetime range keeps the index.
        if start := data.get("date_from"):
            entries = entries.filter(created_at__gte=_midnight(start))
        if end := data.get("date_to"):
            entries = entries.filter(created_at__lt=_midnight(end + timedelta(days=1)))
        if position := data.get("position"):
            entries = entries.filter(position_id=position)
        if proposal := data.get("proposal"):
            entries = entries.filter(proposal_id=proposal)
        return entries


class NoteForm(forms.Form):
    """A note about a day, a position or a proposal (at least one)."""

    note = FreeTextField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What happened, and why"}),
    )
    on_date = _date_field("Day")
    portfolio = forms.ModelChoiceField(
        Portfolio.objects.active(), required=False, to_field_name="code", empty_label="—"
    )
    position = _id_field("Position")
    proposal = _id_field("Proposal")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        scope_form(self, user)  # another fund's position or proposal: "there is no …"

    def clean_position(self) -> Position | None:
        pk = self.cleaned_data.get("position")
        if pk is None:
            return None
        rows = visible(
            self.user, Position.objects.select_related("portfolio"), field="portfolio_id"
        )
        found = rows.filter(pk=pk).first()
        if found is None:
            raise forms.ValidationError(f"There is no position #{pk}.")
        return found

    def clean_proposal(self) -> Proposal | None:
        pk = self.cleaned_data.get("proposal")
        if pk is None:
            return None
        found = (
            Proposal.objects.visible_to(self.user).select_related("portfolio").filter(pk=pk).first()
        )
        if found is None:
            raise forms.ValidationError(f"There is no proposal #{pk}.")
        return found
