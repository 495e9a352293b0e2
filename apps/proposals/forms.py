"""Forms of the blotter: a new proposal, the three decisions, the execution of a fill.

They only shape the input (rates typed in %, stored as fractions); every business rule is the
service's, and a service's `ValidationError` is put back on the field it names.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.inputs import FreeTextField
from apps.marketdata.calendar import is_business_day, next_business_day, previous_business_day
from apps.marketdata.models import Instrument, InstrumentKind
from apps.marketdata.validators import validate_quoted_rate
from apps.positions.access import visible
from apps.positions.models import Portfolio, Side, Strategy
from apps.positions.scoped import scope_form
from apps.proposals.models import Conviction, Proposal
from apps.proposals.services import TRADING_DAY_END, Terms

HUNDRED = Decimal("100")
SIDES = [
    (Side.BUY, "Buy (rate-quoted: long PU / dar taxa)"),
    (Side.SELL, "Sell (rate-quoted: short PU / tomar taxa)"),
]
RATE_SIDES = [(Side.BUY, "Long PU / dar taxa"), (Side.SELL, "Short PU / tomar taxa")]
PRICE_SIDES = [(Side.BUY, "Buy"), (Side.SELL, "Sell")]
TEXTAREA = {"rows": 2}


def default_business_date() -> date:
    """Today while the session is open, else the next ANBIMA business day."""
    now = timezone.localtime()
    today = now.date()
    if is_business_day(today) and now.time() < TRADING_DAY_END:
        return today
    return next_business_day(today)


def last_business_day() -> date:
    """Today, or the business day before it on a weekend or holiday: the default fill date."""
    today = timezone.localdate()
    return today if is_business_day(today) else previous_business_day(today)


def plain(value: Decimal | None) -> Decimal | None:
    """A stored Decimal without its trailing zeros, never in exponent form (20, not 2E+1)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _rate(value: Decimal | None) -> Decimal | None:
    """A rate typed in % (14.901) as the decimal fraction the services use (0.14901)."""
    rate = None if value is None else value / HUNDRED
    validate_quoted_rate(rate)
    return rate


def _rate_field(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        max_digits=12, decimal_places=6, required=False, label="Limit rate (% a.a.)", **kwargs
    )


def _price_field(label: str = "Limit price / PU") -> forms.DecimalField:
    return forms.DecimalField(max_digits=24, decimal_places=8, required=False, label=label)


def _override_field() -> forms.CharField:
    return FreeTextField(
        required=False,
        label="Override note",
        widget=forms.Textarea(attrs={**TEXTAREA, "placeholder": "Why override the hard limit?"}),
    )


def _quantity_field() -> forms.DecimalField:
    return forms.DecimalField(
        max_digits=20, decimal_places=4, help_text="Positive; the side gives the direction."
    )


class ServiceForm(forms.Form):
    """A form that can show a service's `ValidationError`."""

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the errors on the fields they name; the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)


class ProposalForm(ServiceForm):
    """A manual proposal (a manager's or an approver's idea)."""

    portfolio = forms.ModelChoiceField(Portfolio.objects.active(), empty_label=None)
    strategy = forms.ModelChoiceField(Strategy.objects.filter(active=True))
    instrument = forms.ModelChoiceField(Instrument.objects.active())
    side = forms.ChoiceField(choices=SIDES)
    quantity = _quantity_field()
    limit_price = _price_field()
    limit_rate = _rate_field(help_text="Rate-quoted instruments (DI1, DAP, DDI): in %.")
    conviction = forms.TypedChoiceField(
        choices=Conviction.choices, coerce=int, initial=Conviction.MEDIUM
    )
    business_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="Trading day"
    )
    rationale = FreeTextField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope_form(self, user)  # another fund's id: "not one of the available choices"
        self.fields["business_date"].initial = default_business_date()
        strategies = visible(
            user,
            Strategy.objects.filter(active=True, portfolio__active=True),
            field="portfolio_id",
        )
        grouped: dict[str, list[tuple[str, str]]] = {}
        for strategy in strategies.select_related("portfolio"):
            grouped.setdefault(strategy.portfolio.name, []).append(
                (str(strategy.pk), str(strategy))
            )
        self._choices("strategy", grouped)
        labels = dict(InstrumentKind.choices)
        by_kind: dict[str, list[tuple[str, str]]] = {}
        for instrument in Instrument.objects.active().order_by("kind", "maturity", "ticker"):
            kind = str(labels.get(instrument.kind, instrument.kind))
            by_kind.setdefault(kind, []).append((str(instrument.pk), instrument.ticker))
        self._choices("instrument", by_kind)

    def _choices(self, name: str, grouped: dict[str, list[tuple[str, str]]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.choices = [("", "---------"), *grouped.items()]

    def clean_limit_rate(self) -> Decimal | None:
        return _rate(self.cleaned_data.get("limit_rate"))

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(data["side"], data["quantity"], data.get("limit_price"), data["limit_rate"])


class ApproveForm(ServiceForm):
    note = FreeTextField(required=False, widget=forms.TextInput(attrs={"placeholder": "Note"}))
    override_note = _override_field()


class RejectForm(ServiceForm):
    # Not `required`: the service's own message ("Say why …") is the one the user sees.
    note = FreeTextField(
        required=False,
        label="Why reject?",
        widget=forms.Textarea(attrs={**TEXTAREA, "placeholder": "Why reject? (required)"}),
    )


class ModifyForm(ServiceForm):
    side = forms.ChoiceField(choices=PRICE_SIDES)
    quantity = _quantity_field()
    limit_price = _price_field()
    limit_rate = _rate_field()
    note = FreeTextField(
        required=False,
        label="Why modify?",
        widget=forms.Textarea(attrs={**TEXTAREA, "placeholder": "Why modify? (required)"}),
    )
    override_note = _override_field()

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "side": proposal.side,
                "quantity": plain(proposal.quantity),
                "limit_price": plain(proposal.limit_price),
                "limit_rate": plain(
                    None if proposal.limit_rate is None else proposal.limit_rate * HUNDRED
                ),
            },
        )
        super().__init__(*args, **kwargs)
        if proposal.instrument.is_rate_quoted:
            side = self.fields["side"]
            assert isinstance(side, forms.ChoiceField)
            side.choices = RATE_SIDES
        else:
            del self.fields["limit_rate"]

    def clean_limit_rate(self) -> Decimal | None:
        return _rate(self.cleaned_data.get("limit_rate"))

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(
            data["side"], data["quantity"], data.get("limit_price"), data.get("limit_rate")
        )


class ExecuteForm(ServiceForm):
    """The fill: quantity up to the approved one, a price (or a rate in %), date and fees."""

    quantity = _quantity_field()
    price = _price_field("Price / PU")
    rate = forms.DecimalField(
        max_digits=12, decimal_places=6, required=False, label="Rate (% a.a.)"
    )
    trade_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    fees = forms.DecimalField(
        max_digits=20, decimal_places=2, required=False, initial=Decimal("0"), label="Fees (R$)"
    )
    broker = forms.CharField(max_length=64, required=False)
    confirm_warnings = forms.BooleanField(
        required=False,
        label="I confirm the pre-trade warnings",
        help_text="Needed when the pre-trade check warns about this fill.",
    )

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "quantity": plain(proposal.quantity),
                "trade_date": last_business_day(),
                "price": plain(proposal.limit_price),
                "rate": plain(
                    None if proposal.limit_rate is None else proposal.limit_rate * HUNDRED
                ),
                "fees": Decimal("0"),
            },
        )
        super().__init__(*args, **kwargs)
        if not proposal.instrument.is_rate_quoted:
            del self.fields["rate"]

    def clean_rate(self) -> Decimal | None:
        return _rate(self.cleaned_data.get("rate"))

    def fill(self) -> dict[str, Any]:
        """Keyword arguments of `execute_proposal`."""
        data = self.cleaned_data
        return {
            "quantity": data["quantity"],
            "trade_date": data["trade_date"],
            "price": data.get("price"),
            "rate": data.get("rate"),
            "fees": data.get("fees") or Decimal("0"),
            "broker": data.get("broker", ""),
            "confirm_warnings": bool(data.get("confirm_warnings")),
        }


class NoteForm(forms.Form):
    note = FreeTextField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a note"})
    )
