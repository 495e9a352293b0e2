"""Stored performance per portfolio and date: what the EOD run computed for the standard
periods, read by the morning pack and the API without recomputing."""

from django.db import models

from apps.positions.models import Portfolio


class PerformanceSnapshot(models.Model):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    periods = models.JSONField(help_text="Per period: returns, CDI, statistics, contributions.")
    computed_at = models.DateTimeField(auto_now=True)
    basis = models.JSONField(default=dict, help_text="Change counters computed on (staleness).")

    class Meta:
        ordering = ["portfolio", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "date"], name="performance_per_day")
        ]

    def __str__(self) -> str:
        return f"Performance {self.portfolio} {self.date}"
