"""Trade proposals, their four-eyes decisions, and the signal rules that generate them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.roles import Role, has_role
from apps.marketdata.models import Instrument
from apps.positions.access import visible
from apps.positions.models import Portfolio, Side, Strategy, Trade


class ProposalStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    MODIFIED_APPROVED = "MODIFIED_APPROVED", "Modified and approved"
    EXPIRED = "EXPIRED", "Expired"
    EXECUTED = "EXECUTED", "Executed"


DECIDED = (ProposalStatus.APPROVED, ProposalStatus.MODIFIED_APPROVED)


class Conviction(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class ProposalQuerySet(models.QuerySet["Proposal"]):
    def pending(self) -> ProposalQuerySet:
        return self.filter(status=ProposalStatus.PENDING)

    def decided(self) -> ProposalQuerySet:
        return self.exclude(status=ProposalStatus.PENDING)

    def for_portfolio(self, portfolio: Portfolio) -> ProposalQuerySet:
        return self.filter(portfolio=portfolio)

    def visible_to(self, user: Any) -> ProposalQuerySet:
        """The proposals of the funds `user` may see (none without a role)."""
        if not has_role(user, *Role.values):
            return self.none()
        scoped: ProposalQuerySet = visible(user, self, field="portfolio_id")
        return scoped


class Proposal(TimeStampedModel):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="proposals")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="proposals")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    limit_price = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    limit_rate = models.DecimalField(
        max_digits=14, decimal_places=8, null=True, blank=True, help_text="Decimal fraction."
    )
    rationale = models.TextField()
    conviction = models.PositiveSmallIntegerField(
        choices=Conviction.choices, default=Conviction.MEDIUM
    )
    source = models.CharField(max_length=64, default="manual", help_text="manual or a rule name.")
    business_date = models.DateField(help_text="The trading day it is proposed for.")
    expires_at = models.DateTimeField(help_text="End of the trading day.")
    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals_made",
        help_text="Empty when a signal rule proposed it.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    original_terms = models.JSONField(
        default=dict, help_text="Side, quantity and limits as first proposed."
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    what_if = models.JSONField(default=dict, blank=True, help_text="Risk before and after.")
    # The link is held here, on the higher floor: a trade does not name the proposal it executes.
    executions = models.ManyToManyField(
        Trade,
        through="Execution",
        related_name="+",
        blank=True,
        help_text="The trades that executed it.",
    )

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-business_date", "-created_at"]
        indexes = [models.Index(fields=["portfolio", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values), name="proposal_status_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="proposal_quantity_gt_0"),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="proposal_side_valid"),
            models.CheckConstraint(
                condition=Q(status=ProposalStatus.PENDING)
                | Q(status=ProposalStatus.EXPIRED)
                | Q(decided_by__isnull=False),
                name="proposal_decision_has_decider",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ProposalStatus.REJECTED, ProposalStatus.MODIFIED_APPROVED])
                | ~Q(decision_note=""),
                name="proposal_reject_modify_need_note",
            ),
            models.UniqueConstraint(
                fields=["portfolio", "source", "instrument", "business_date"],
                condition=~Q(source="manual"),
                name="proposal_rule_once_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.quantity} {self.instrument} ({self.status})"

    @property
    def is_decidable(self) -> bool:
        return self.status == ProposalStatus.PENDING

    @property
    def is_executable(self) -> bool:
        return self.status in DECIDED

    @property
    def was_modified(self) -> bool:
        return self.status == ProposalStatus.MODIFIED_APPROVED or (
            self.status == ProposalStatus.EXECUTED and self.terms() != self.original_terms
        )

    def terms(self) -> dict[str, Any]:
        """The current terms in the same shape as `original_terms`."""
        return {
            "side": self.side,
            "quantity": _fixed(self.quantity, 4),
            "limit_price": _fixed(self.limit_price, 8),
            "limit_rate": _fixed(self.limit_rate, 8),
        }


def _fixed(value: Decimal | None, places: int) -> str | None:
    """As stored (the column's decimal places), so terms compare equal before and after a save."""
    return None if value is None else str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


class Execution(models.Model):
    """A trade booked to execute a proposal (each trade executes at most one)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="+")
    trade = models.OneToOneField(Trade, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"proposal #{self.proposal_id} → trade #{self.trade_id}"


class SignalRule(TimeStampedModel):
    """A transparent rule that proposes trades before the open; enabled and sized here."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="rules")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="rules")
    name = models.CharField(max_length=64, help_text="A key of the rule registry.")
    enabled = models.BooleanField(default=True)
    size = models.DecimalField(
        max_digits=20, decimal_places=4, default=Decimal("10"), help_text="Quantity proposed."
    )
    params = models.JSONField(default=dict, blank=True, help_text="Thresholds for the rule.")

    class Meta:
        ordering = ["portfolio", "name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="rule_unique_per_portfolio"),
            models.CheckConstraint(condition=Q(size__gt=0), name="rule_size_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'on' if self.enabled else 'off'})"
