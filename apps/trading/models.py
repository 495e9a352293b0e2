"""Pre-trade controls: the fat-finger rule settings per fund and instrument kind, and the
hard-limit override requests an approver grants (or declines)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.models import TimeStampedModel
from apps.marketdata.models import Instrument, InstrumentKind
from apps.positions.models import Portfolio, Side, Strategy, Trade


class RuleKind(models.TextChoices):
    """The configurable fat-finger rules; each compares one number of the ticket to a warning
    level and a blocking level (units in the label)."""

    QUANTITY = "QUANTITY", "Quantity (units or contracts)"
    NOTIONAL = "NOTIONAL", "Notional (fraction of NAV)"
    DV01 = "DV01", "DV01 added (fraction of NAV per bp)"
    FX_DELTA = "FX_DELTA", "FX delta added (fraction of NAV)"
    PRICE_BAND = "PRICE_BAND", "Price off the last settlement (fraction)"
    RATE_BAND = "RATE_BAND", "Rate off the last settlement (bp)"


class FatFingerRule(TimeStampedModel):
    """One rule's levels for a fund, for one instrument kind or (kind empty) for every kind.

    The most specific row wins: (fund, kind) over (fund, every kind) over the code's defaults
    (`apps.trading.rules.DEFAULTS`). An inactive row switches the rule off for its scope."""

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.PROTECT, related_name="fat_finger_rules"
    )
    instrument_kind = models.CharField(
        max_length=16,
        choices=InstrumentKind.choices,
        blank=True,
        help_text="Empty: every kind of this fund without a row of its own.",
    )
    rule = models.CharField(max_length=12, choices=RuleKind.choices)
    warn_level = models.DecimalField(max_digits=24, decimal_places=6)
    block_level = models.DecimalField(max_digits=24, decimal_places=6)
    active = models.BooleanField(default=True, help_text="Off: the rule is not checked here.")

    class Meta:
        ordering = ["portfolio", "instrument_kind", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "instrument_kind", "rule"], name="fat_finger_rule_unique"
            ),
            models.CheckConstraint(
                condition=Q(rule__in=RuleKind.values), name="fat_finger_rule_valid"
            ),
            models.CheckConstraint(
                condition=Q(warn_level__gt=0) & Q(block_level__gte=F("warn_level")),
                name="fat_finger_levels_ordered",
            ),
        ]

    def __str__(self) -> str:
        kind = self.instrument_kind or "every kind"
        return f"{self.get_rule_display()} — {self.portfolio.code}, {kind}"


class OverrideStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    GRANTED = "GRANTED", "Granted and booked"
    DECLINED = "DECLINED", "Declined"


class OverrideRequest(TimeStampedModel):
    """A ticket refused for a hard-limit breach, waiting for an approver who is not its booker:
    granted with a note, the ticket is booked at once as the requester's trade."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="+")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    price = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    rate = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    trade_date = models.DateField()
    settlement_date = models.DateField(null=True, blank=True)
    fees = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    broker = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    reason = models.TextField(help_text="The booker's case for the override.")
    verdict = models.JSONField(default=dict, help_text="The pre-trade verdict when requested.")
    status = models.CharField(
        max_length=8, choices=OverrideStatus.choices, default=OverrideStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="The approver's note.")
    trade = models.OneToOneField(
        Trade, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OverrideStatus.values), name="override_status_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="override_quantity_gt_0"),
            models.CheckConstraint(condition=~Q(reason=""), name="override_has_reason"),
            models.CheckConstraint(
                condition=Q(status=OverrideStatus.PENDING)
                | (Q(decided_by__isnull=False) & ~Q(note="")),
                name="override_decision_has_who_and_note",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="override_not_by_requester",
            ),
            models.CheckConstraint(
                condition=~Q(status=OverrideStatus.GRANTED) | Q(trade__isnull=False),
                name="override_granted_has_trade",
            ),
        ]

    def __str__(self) -> str:
        return f"Override #{self.pk}: {self.side} {self.quantity:f} {self.instrument}"

    @property
    def is_pending(self) -> bool:
        return self.status == OverrideStatus.PENDING
