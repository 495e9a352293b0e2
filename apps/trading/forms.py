"""Trade entry and a reversal's reason (the pages that book trades)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.inputs import FreeTextField
from apps.marketdata.models import Instrument, InstrumentKind
from apps.marketdata.validators import validate_quoted_rate
from apps.positions.access import visible
from apps.positions.models import Portfolio, Side, Strategy
from apps.positions.scoped import scope_form
from apps.positions.services import TradeTicket

HUNDRED = Decimal("100")
RATE_SIDES = [
    (Side.BUY, "Buy PU / sell rate (dar)"),
    (Side.SELL, "Sell PU / buy rate (tomar)"),
]
PRICE_SIDES = [(Side.BUY, "Buy"), (Side.SELL, "Sell")]


def instrument_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active instruments grouped by kind, for a <select> with <optgroup>s."""
    today = timezone.localdate()
    groups: dict[str, list[tuple[str, str]]] = {}
    labels = dict(InstrumentKind.choices)
    for instrument in Instrument.objects.active().order_by("kind", "maturity", "ticker"):
        label = instrument.ticker
        if instrument.maturity and instrument.maturity <= today:
            label += " (matured)"
        groups.setdefault(str(labels.get(instrument.kind, instrument.kind)), []).append(
            (str(instrument.pk), label)
        )
    return list(groups.items())


def strategy_choices(user: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """The active strategies of `user`'s active funds, grouped by portfolio."""
    groups: dict[str, list[tuple[str, str]]] = {}
    rows = Strategy.objects.filter(active=True, portfolio__active=True).select_related("portfolio")
    for strategy in visible(user, rows, field="portfolio_id"):
        groups.setdefault(strategy.portfolio.name, []).append((str(strategy.pk), strategy.name))
    return list(groups.items())


class TradeForm(forms.Form):
    """Shapes the input; every business rule is the service's (one set for UI, API, admin)."""

    portfolio = forms.ModelChoiceField(Portfolio.objects.active(), empty_label=None)
    strategy = forms.ModelChoiceField(Strategy.objects.filter(active=True))
    instrument = forms.ModelChoiceField(Instrument.objects.active())
    side = forms.ChoiceField(choices=PRICE_SIDES)
    quantity = forms.DecimalField(
        max_digits=20, decimal_places=4, help_text="Positive; the side gives the direction."
    )
    price = forms.DecimalField(max_digits=24, decimal_places=8, required=False, label="Price / PU")
    rate = forms.DecimalField(
        max_digits=12,
        decimal_places=6,
        required=False,
        label="Rate (% a.a.)",
        help_text="Rate-quoted instruments: give the rate in % (14.901) instead of the PU.",
    )
    trade_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    fees = forms.DecimalField(
        max_digits=20, decimal_places=2, required=False, initial=Decimal("0"), label="Fees (R$)"
    )
    broker = forms.CharField(max_length=64, required=False)
    notes = FreeTextField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    confirm_warnings = forms.BooleanField(
        required=False,
        label="I confirm the pre-trade warnings",
        help_text="Needed to book a ticket the pre-trade check warns about; blocks cannot be "
        "confirmed.",
    )
    override_reason = FreeTextField(
        required=False,
        max_length=1000,
        label="Override reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a ticket refused for a hard-limit breach: why an approver should "
        "release it.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_form(self, user)  # another fund's id: "not one of the available choices"
        self._field("strategy").choices = [("", "---------"), *strategy_choices(user)]
        self._field("instrument").choices = [("", "---------"), *instrument_choices()]
        self.fields["trade_date"].initial = timezone.localdate()
        rate_ids = Instrument.objects.active().filter(quote_convention="RATE")
        self.fields["instrument"].widget.attrs["data-rate-quoted"] = ",".join(
            str(pk) for pk in rate_ids.values_list("pk", flat=True)
        )
        if self._chosen_instrument_is_rate_quoted():
            self._field("side").choices = RATE_SIDES

    def _field(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def _chosen_instrument_is_rate_quoted(self) -> bool:
        chosen = self.data.get("instrument") or self.initial.get("instrument")
        pk = getattr(chosen, "pk", chosen)
        if not pk or not str(pk).isdigit():
            return False
        return Instrument.objects.filter(pk=pk, quote_convention="RATE").exists()

    def clean_rate(self) -> Decimal | None:
        typed: Decimal | None = self.cleaned_data.get("rate")
        rate = None if typed is None else typed / HUNDRED
        validate_quoted_rate(rate)
        return rate

    def ticket(self) -> TradeTicket:
        data = self.cleaned_data
        return TradeTicket.from_cleaned(data)

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's errors on the fields they name; the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)


class ReverseForm(forms.Form):
    reason = forms.CharField(max_length=500, strip=True)


class DecideOverrideForm(forms.Form):
    # Not `required`: the service says a note is needed, in one place for page and API.
    note = FreeTextField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class SandboxFundForm(forms.Form):
    portfolio = forms.ModelChoiceField(Portfolio.objects.active(), empty_label=None)
    trade_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_form(self, user)
        self.fields["trade_date"].initial = timezone.localdate()


class SandboxTicketForm(forms.Form):
    """One line of the sandbox's basket; an empty line is skipped."""

    strategy = forms.ModelChoiceField(Strategy.objects.filter(active=True), required=False)
    instrument = forms.ModelChoiceField(Instrument.objects.active(), required=False)
    side = forms.ChoiceField(choices=PRICE_SIDES, initial=Side.BUY)
    quantity = forms.DecimalField(max_digits=20, decimal_places=4, required=False)
    price = forms.DecimalField(max_digits=24, decimal_places=8, required=False, label="Price / PU")
    rate = forms.DecimalField(
        max_digits=12, decimal_places=6, required=False, label="Rate (% a.a.)"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_form(self, user)
        cast(forms.ChoiceField, self.fields["strategy"]).choices = [
            ("", "---------"),
            *strategy_choices(user),
        ]
        cast(forms.ChoiceField, self.fields["instrument"]).choices = [
            ("", "---------"),
            *instrument_choices(),
        ]

    def clean_rate(self) -> Decimal | None:
        typed: Decimal | None = self.cleaned_data.get("rate")
        rate = None if typed is None else typed / HUNDRED
        validate_quoted_rate(rate)
        return rate

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("instrument") and not data.get("quantity")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank:
            return data
        for name in ("strategy", "instrument", "quantity"):
            if not data.get(name):
                self.add_error(name, "Needed for a ticket.")
        return data


SandboxBasket = forms.formset_factory(SandboxTicketForm, extra=4, max_num=20, absolute_max=20)
