"""Morning packs (every generation kept) and the calendar of market events they mention."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.staleness import Basis, Staleness, staleness
from apps.journal.models import JournalAnchored
from apps.marketdata.calendar import previous_business_day
from apps.positions.models import Portfolio


class MorningPack(JournalAnchored):
    class Source(models.TextChoices):
        LLM = "llm", "LLM narrative (grounded)"
        TEMPLATE = "template", "Template narrative"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField(help_text="The trading day the pack prepares for.")
    version = models.PositiveIntegerField(help_text="1 for the first generation of the day.")
    facts_version = models.CharField(max_length=8)
    facts = models.JSONField()
    narrative = models.TextField()
    source = models.CharField(max_length=8, choices=Source.choices)
    language = models.CharField(max_length=8)
    model = models.CharField(max_length=64, blank=True, help_text="LLM model asked, if any.")
    prompt_hash = models.CharField(max_length=64, blank=True)
    rejection_reason = models.TextField(
        blank=True, help_text="Why the LLM text was not used (template fallback)."
    )
    timings = models.JSONField(default=dict, help_text="Milliseconds per step.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    basis = models.JSONField(default=dict, help_text="Change counters computed on (staleness).")

    class Meta:
        ordering = ["-business_date", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "business_date", "version"], name="pack_version_unique"
            ),
            models.CheckConstraint(condition=Q(source__in=["llm", "template"]), name="pack_source"),
        ]

    def __str__(self) -> str:
        return f"Morning pack {self.business_date} v{self.version} ({self.source})"

    @property
    def anchor_label(self) -> str:
        return f"morning pack {self.business_date} v{self.version} of {self.portfolio.code}"


def pack_freshness(pack: Any) -> Staleness:
    """What changed after the pack (a `MorningPack`, or the page's summary of one): its
    close's book or prices (the facts are of the close before its business day; today's
    trades do not make the close's facts wrong)."""
    asof = previous_business_day(pack.business_date)
    basis = Basis.of(pack.basis)
    return staleness(pack.portfolio_id, basis, through=asof, book_through=asof)


class CalendarEvent(models.Model):
    class Kind(models.TextChoices):
        COPOM = "COPOM", "Copom decision"
        IPCA = "IPCA", "IPCA release"
        FOMC = "FOMC", "FOMC decision"
        OTHER = "OTHER", "Other"

    date = models.DateField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["date", "kind"], name="event_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.title}"
