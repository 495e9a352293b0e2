"""The decision journal: append-only, each entry chained to the previous by SHA-256."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q


class EntryKind(models.TextChoices):
    POSITION_OPENED = "POSITION_OPENED", "Position opened"
    POSITION_CLOSED = "POSITION_CLOSED", "Position closed"
    POSITION_PLAN = "POSITION_PLAN", "Position thesis/stop/target"
    TRADE_RECORDED = "TRADE_RECORDED", "Trade recorded"
    TRADE_REVERSED = "TRADE_REVERSED", "Trade reversed"
    FLOW_RECORDED = "FLOW_RECORDED", "Capital flow recorded"
    MTM_RUN = "MTM_RUN", "MTM run"
    PRICE_OVERRIDE = "PRICE_OVERRIDE", "Price override"
    INTRADAY_PRICES = "INTRADAY_PRICES", "Intraday prices entered"
    PROPOSAL_CREATED = "PROPOSAL_CREATED", "Proposal created"
    PROPOSAL_APPROVED = "PROPOSAL_APPROVED", "Proposal approved"
    PROPOSAL_REJECTED = "PROPOSAL_REJECTED", "Proposal rejected"
    PROPOSAL_MODIFIED = "PROPOSAL_MODIFIED", "Proposal modified and approved"
    PROPOSAL_EXPIRED = "PROPOSAL_EXPIRED", "Proposal expired"
    PROPOSAL_EXECUTED = "PROPOSAL_EXECUTED", "Proposal executed"
    LIMIT_ALERT = "LIMIT_ALERT", "Limit alert"
    ALERT_ACKNOWLEDGED = "ALERT_ACKNOWLEDGED", "Alert acknowledged"
    LIMIT_OVERRIDE = "LIMIT_OVERRIDE", "Hard-limit override"
    TRADE_REFUSED = "TRADE_REFUSED", "Trade refused (pre-trade check)"
    OVERRIDE_REQUESTED = "OVERRIDE_REQUESTED", "Hard-limit override requested"
    OVERRIDE_DECLINED = "OVERRIDE_DECLINED", "Hard-limit override declined"
    RULE_CHANGED = "RULE_CHANGED", "Pre-trade rule, limit or compliance rule changed"
    ACCESS_CHANGED = "ACCESS_CHANGED", "Fund access granted, changed or revoked"
    COMPLIANCE_BREACH = "COMPLIANCE_BREACH", "Compliance breach opened, acknowledged or cured"
    MORNING_PACK = "MORNING_PACK", "Morning pack generated"
    PIPELINE_RUN = "PIPELINE_RUN", "Pipeline run"
    NOTE = "NOTE", "Manual note"


class ImmutableEntry(Exception):
    """Journal entries are never changed or removed."""


class EntryQuerySet(models.QuerySet["Entry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableEntry("Journal entries are append-only.")

    def delete(self) -> NoReturn:
        raise ImmutableEntry("Journal entries are append-only.")

    def for_portfolio(self, portfolio: Any) -> EntryQuerySet:
        return self.filter(portfolio_id=getattr(portfolio, "pk", portfolio))


class JournalAnchored(models.Model):
    """A row that records the journal's head (last seq and its hash) when it was written.

    Deleting entries from the end of the chain leaves a shorter chain that still verifies; the
    head kept outside the journal table (pipeline runs, morning packs, backups) shows what is
    gone. `apps.journal.anchors` finds every concrete subclass."""

    journal_seq = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The journal head's seq when this was recorded."
    )
    journal_hash = models.CharField(
        max_length=64, blank=True, help_text="The journal head's SHA-256 when this was recorded."
    )

    class Meta:
        abstract = True

    @property
    def anchor_label(self) -> str:
        return f"{self._meta.verbose_name} {self}"


def _link(help_text: str) -> models.BigIntegerField:
    return models.BigIntegerField(null=True, blank=True, db_index=True, help_text=help_text)


class Entry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True, help_text="Position in the chain, from 1.")
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journal_entries",
        help_text="Empty for the system (pipelines).",
    )
    kind = models.CharField(max_length=24, choices=EntryKind.choices)
    # Links to rows of higher floors (positions, proposals) as plain ids: the journal is the
    # bottom floor and names no higher model. Same names and columns as the foreign keys they
    # replaced (journal 0005), so every entry's hash is unchanged. See docs/ARCHITECTURE.md.
    portfolio_id = _link("The portfolio's id (positions.Portfolio).")
    position_id = _link("The position's id (positions.Position).")
    trade_id = _link("The trade's id (positions.Trade).")
    proposal_id = _link("The proposal's id (proposals.Proposal).")
    on_date = models.DateField(null=True, blank=True, help_text="The business date it concerns.")
    snapshot = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["kind", "created_at"]),
            models.Index(fields=["portfolio_id", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="entry_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.NOTE) | ~Q(note=""), name="entry_note_has_text"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableEntry(f"Journal entry #{self.seq} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableEntry(f"Journal entry #{self.seq} cannot be deleted.")
