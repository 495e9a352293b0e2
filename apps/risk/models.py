"""Stress scenarios, limits (with history), alerts and daily risk snapshots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.core.models import TimeStampedModel
from apps.positions.models import Portfolio

SHOCK_KEYS = {
    "di_bp": "DI1 curve shift by vertex (du → bp), interpolated between vertices",
    "dap_bp": "DAP real curve shift by vertex (du → bp)",
    "cupom_bp": "cupom cambial shift (bp)",
    "usdbrl_pct": "USD/BRL move (%)",
    "ibov_pct": "Ibovespa move (%)",
    "offshore_equity_pct": "offshore equity-index futures (%)",
    "offshore_rates_pct": "offshore rates futures price (%)",
    "equity_pct": "other equities and ETFs, on top of Ibovespa (%)",
}


def validate_shocks(shocks: Any) -> None:
    """A scenario's shocks: known keys, numbers, vertex maps keyed by business days."""
    if not isinstance(shocks, dict) or not shocks:
        raise ValidationError("Shocks must be a non-empty JSON object.")
    unknown = sorted(set(shocks) - set(SHOCK_KEYS))
    if unknown:
        raise ValidationError(f"Unknown shock keys {unknown}; use {sorted(SHOCK_KEYS)}.")
    for key, value in shocks.items():
        if key in ("di_bp", "dap_bp"):
            if not isinstance(value, dict) or not value:
                raise ValidationError(f"{key} must map business days to bp, e.g. {{'252': 100}}.")
            for du, bp in value.items():
                if not str(du).isdigit() or not isinstance(bp, int | float):
                    raise ValidationError(f"{key}: {du!r} → {bp!r} is not 'du': number.")
        elif not isinstance(value, int | float):
            raise ValidationError(f"{key} must be a number, got {value!r}.")


class StressScenario(TimeStampedModel):
    class Kind(models.TextChoices):
        HISTORICAL = "HISTORICAL", "Historical episode"
        PRIMITIVE = "PRIMITIVE", "Primitive factor shock (B3 style)"
        USER = "USER", "User scenario"

    code = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.USER)
    description = models.TextField(blank=True)
    source_start = models.DateField(null=True, blank=True, help_text="Episode start.")
    source_end = models.DateField(null=True, blank=True, help_text="Episode end.")
    shocks = models.JSONField(validators=[validate_shocks])
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["HISTORICAL", "PRIMITIVE", "USER"]), name="stress_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Metric(models.TextChoices):
    VAR_99 = "VAR_99", "VaR 99 % 1d (% of NAV)"
    VAR_95 = "VAR_95", "VaR 95 % 1d (% of NAV)"
    ES_975 = "ES_975", "ES 97.5 % 1d (% of NAV)"
    GROSS = "GROSS", "Gross exposure (% of NAV)"
    NET = "NET", "Net exposure (% of NAV)"
    DV01 = "DV01", "DV01, absolute (R$ per bp)"
    FX_DELTA = "FX_DELTA", "FX delta, absolute (USD)"
    WORST_STRESS = "WORST_STRESS", "Worst stress loss (% of NAV)"
    CONCENTRATION = "CONCENTRATION", "Largest position (% of NAV)"


class Scope(models.TextChoices):
    PORTFOLIO = "PORTFOLIO", "Portfolio"
    STRATEGY = "STRATEGY", "Strategy"
    ASSET_CLASS = "ASSET_CLASS", "Asset class"


class Limit(TimeStampedModel):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="limits")
    metric = models.CharField(max_length=16, choices=Metric.choices)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.PORTFOLIO)
    scope_value = models.CharField(
        max_length=32, blank=True, help_text="Strategy code or asset class; empty for portfolio."
    )
    warning_level = models.DecimalField(max_digits=20, decimal_places=4)
    hard_level = models.DecimalField(max_digits=20, decimal_places=4)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["portfolio", "scope", "scope_value", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "metric", "scope", "scope_value"], name="limit_unique"
            ),
            models.CheckConstraint(
                condition=Q(warning_level__gt=0) & Q(hard_level__gte=models.F("warning_level")),
                name="limit_levels_ordered",
            ),
            models.CheckConstraint(
                condition=Q(scope="PORTFOLIO", scope_value="") | ~Q(scope="PORTFOLIO"),
                name="limit_portfolio_scope_has_no_value",
            ),
        ]

    def __str__(self) -> str:
        where = self.get_scope_display() + (f" {self.scope_value}" if self.scope_value else "")
        return f"{self.get_metric_display()} — {where}"

    def utilisation(self, value: Decimal) -> Decimal:
        """Value as a fraction of the hard level (1 = at the hard limit)."""
        return abs(value) / self.hard_level


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        return self.filter(status=Alert.Status.OPEN)


class Alert(models.Model):
    class Level(models.TextChoices):
        WARNING = "WARNING", "Warning"
        HARD = "HARD", "Hard breach"

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="alerts")
    limit = models.ForeignKey(Limit, on_delete=models.PROTECT, related_name="alerts")
    date = models.DateField()
    level = models.CharField(max_length=8, choices=Level.choices)
    value = models.DecimalField(max_digits=24, decimal_places=4)
    utilisation = models.DecimalField(max_digits=12, decimal_places=4)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["limit", "date", "level"], name="alert_once_per_day"),
            models.CheckConstraint(
                condition=Q(status="OPEN") | (Q(acknowledged_by__isnull=False) & ~Q(note="")),
                name="alert_ack_has_who_and_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.limit} on {self.date}"


class RiskSnapshot(models.Model):
    """The risk report of one portfolio and business date, as `run_risk` computed it."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="risk")
    date = models.DateField()
    report = models.JSONField()
    computed_at = models.DateTimeField(auto_now=True)
    basis = models.JSONField(default=dict, help_text="Change counters computed on (staleness).")

    class Meta:
        ordering = ["portfolio", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "date"], name="risk_snapshot_per_day")
        ]

    def __str__(self) -> str:
        return f"Risk {self.portfolio} {self.date}"


class IntradayRisk(models.Model):
    """A fund's risk on its current book during the trading day: the positions as they stand
    (today's trades included), valued at the intraday prices entered and the last close
    elsewhere, measured on the last close's factor history. Provisional: it raises no alert,
    and the day's EOD snapshot supersedes it (the EOD deletes it). One per fund, recomputed
    after a trade or a price (`apps.risk.intraday`)."""

    portfolio = models.OneToOneField(
        Portfolio, on_delete=models.CASCADE, related_name="intraday_risk"
    )
    date = models.DateField(help_text="The trading day it estimates.")
    base_date = models.DateField(help_text="The close it is measured from.")
    report = models.JSONField()
    quotes = models.JSONField(default=list, help_text="Intraday prices used: ticker, time.")
    basis = models.JSONField(default=dict, help_text="Change counters computed on (staleness).")
    computed_at = models.DateTimeField(auto_now=True)
    seconds = models.FloatField(default=0.0)

    intraday = True  # templates: the provisional flag

    def __str__(self) -> str:
        return f"Intraday risk {self.portfolio} {self.date} at {self.computed_at:%H:%M}"


class StoredFactorHistory(models.Model):
    """The factor history of a risk date, built once by the pipelines' market step for every
    fund of the day (`apps.risk.history`). Valid while the market's data version it was built
    on stands: any price, fixing or instrument written since makes it stale, and readers build
    their own. The arrays are a NumPy `.npz` (no pickle), the rest JSON."""

    asof = models.DateField()
    days = models.PositiveSmallIntegerField(help_text="Daily moves asked for (the VaR window).")
    market_version = models.PositiveBigIntegerField(help_text="The market data version read.")
    dates = models.JSONField(help_text="Scenario dates (ISO), one per row of the arrays.")
    factors = models.JSONField(help_text="The linear factors' names, in the arrays' order.")
    warnings = models.JSONField(default=list)
    gaps = models.JSONField(default=list, help_text="[date, [tickers]] of the window's holes.")
    arrays = models.BinaryField(help_text="di, dap and linear0 … as a NumPy .npz.")
    seconds = models.FloatField(help_text="What building it cost.")
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "stored factor histories"
        constraints = [
            models.UniqueConstraint(fields=["asof", "days"], name="factor_history_per_day")
        ]

    def __str__(self) -> str:
        return (
            f"factor history {self.asof} ({len(self.dates)} moves, market v{self.market_version})"
        )
