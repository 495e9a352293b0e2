"""Compliance rules per fund, the B3 margin the margin rule reads, every evaluation made, and
the breaches they found (opened with their start date and a deadline, closed when cured)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.marketdata.models import AssetClass, InstrumentKind, IssuerKind
from apps.positions.models import Portfolio


class RuleKind(models.TextChoices):
    """What a rule measures on the book; every amount is a fraction of the NAV."""

    GROSS_EXPOSURE = "GROSS_EXPOSURE", "Gross exposure (Σ |exposure| ÷ NAV)"
    NET_EXPOSURE = "NET_EXPOSURE", "Net exposure (|Σ exposure| ÷ NAV)"
    MARGIN = "MARGIN", "B3 margin required ÷ NAV"
    FOREIGN = "FOREIGN", "Investment abroad (foreign assets ÷ NAV)"
    ISSUER = "ISSUER", "Largest single issuer (of the kind in scope) ÷ NAV"
    ISSUER_KIND = "ISSUER_KIND", "All issuers of the kind in scope together ÷ NAV"
    INSTRUMENT = "INSTRUMENT", "Largest single instrument (of the kind in scope) ÷ NAV"
    ASSET_CLASS = "ASSET_CLASS", "The asset class in scope (gross) ÷ NAV"
    FORBIDDEN_KINDS = "FORBIDDEN_KINDS", "Forbidden instrument kinds (positions held)"
    ALLOWED_KINDS = "ALLOWED_KINDS", "Only the kinds in scope (positions outside them)"
    MIN_CASH = "MIN_CASH", "Minimum cash (cash ÷ NAV, a floor)"


# The kinds whose scope names an issuer kind, an instrument kind or an asset class.
SCOPE_CHOICES: dict[str, type[models.TextChoices]] = {
    RuleKind.ISSUER: IssuerKind,
    RuleKind.ISSUER_KIND: IssuerKind,
    RuleKind.INSTRUMENT: InstrumentKind,
    RuleKind.ASSET_CLASS: AssetClass,
    RuleKind.FORBIDDEN_KINDS: InstrumentKind,
    RuleKind.ALLOWED_KINDS: InstrumentKind,
}
SCOPE_REQUIRED: tuple[str, ...] = (RuleKind.ISSUER_KIND, RuleKind.ASSET_CLASS)
SCOPE_REQUIRED += (RuleKind.FORBIDDEN_KINDS, RuleKind.ALLOWED_KINDS)
COUNT_KINDS = (RuleKind.FORBIDDEN_KINDS, RuleKind.ALLOWED_KINDS)  # limit: positions allowed


class Severity(models.TextChoices):
    HARD = "HARD", "Hard (blocks a trade that breaches it)"
    SOFT = "SOFT", "Soft (warns; the booker confirms)"


class ComplianceRule(TimeStampedModel):
    """One rule of one fund: what it measures (`kind`, narrowed by `scope`), its limit, how
    hard it is, and the legal text or fund decision it comes from."""

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.PROTECT, related_name="compliance_rules"
    )
    code = models.SlugField(max_length=40, help_text="Short name, unique in the fund.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    scope = models.CharField(
        max_length=200,
        blank=True,
        help_text="Issuer kind, instrument kind or asset class the rule looks at (a comma "
        "list of instrument kinds for the forbidden and allowed rules); blank: all.",
    )
    limit = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        help_text="A fraction of NAV (0.70 = 70 %); for the minimum cash, the floor; for the "
        "forbidden and allowed kinds, the positions tolerated (0).",
    )
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.HARD)
    cure_days = models.PositiveSmallIntegerField(
        default=15,
        help_text="Business days a passive breach has to be cured (the fund's regulation or "
        "policy; documented default in docs/COMPLIANCE.md).",
    )
    legal_basis = models.TextField(
        help_text="Where the number comes from: the article, or 'fund policy' when it is the "
        "fund's own choice."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["portfolio", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "code"], name="compliance_rule_code"),
            models.CheckConstraint(
                condition=Q(kind__in=RuleKind.values), name="compliance_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="compliance_rule_severity_valid"
            ),
            models.CheckConstraint(condition=Q(limit__gte=0), name="compliance_rule_limit_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio.code} · {self.code}"

    @property
    def scope_values(self) -> list[str]:
        return [part.strip() for part in self.scope.split(",") if part.strip()]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        choices = SCOPE_CHOICES.get(self.kind)
        values = self.scope_values
        if choices is None and values:
            raise ValidationError({"scope": "This kind of rule takes no scope: leave it blank."})
        if self.kind in SCOPE_REQUIRED and not values:
            raise ValidationError({"scope": "Name what the rule looks at."})
        multiple = self.kind in COUNT_KINDS
        if len(values) > 1 and not multiple:
            raise ValidationError({"scope": "One value only for this kind of rule."})
        if choices is not None:
            unknown = [v for v in values if v not in choices.values]
            if unknown:
                allowed = ", ".join(choices.values)
                raise ValidationError(
                    {"scope": f"Unknown: {', '.join(unknown)}. One of: {allowed}."}
                )
        if self.kind in COUNT_KINDS and self.limit != self.limit.to_integral_value():
            raise ValidationError({"limit": "A number of positions (0 tolerates none)."})
        if self.kind not in COUNT_KINDS and self.limit > Decimal("50"):
            raise ValidationError({"limit": "A fraction of NAV: 0.70 is 70 %."})


class MarginRecord(TimeStampedModel):
    """The B3 margin required of a fund on a day (imported from the clearing's report or
    typed in), or an estimate, labelled as one."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="margins")
    date = models.DateField()
    amount_brl = models.DecimalField(max_digits=20, decimal_places=2)
    estimate = models.BooleanField(
        default=False, help_text="An estimate, not B3's figure: shown labelled as one."
    )
    source = models.CharField(max_length=200, help_text="B3's report, the broker, an estimate…")

    class Meta:
        ordering = ["portfolio", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "date"], name="margin_unique_per_day"),
            models.CheckConstraint(condition=Q(amount_brl__gte=0), name="margin_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio.code} {self.date:%Y-%m-%d}"


class Status(models.TextChoices):
    PASS = "PASS", "Within"
    WARN = "WARN", "Soft breach"
    BREACH = "BREACH", "Hard breach"
    NA = "NA", "Not evaluated"


class RuleCheck(models.Model):
    """One rule evaluated on one fund's book of one day (the EOD keeps every one)."""

    rule = models.ForeignKey(ComplianceRule, on_delete=models.PROTECT, related_name="checks")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    limit = models.DecimalField(max_digits=12, decimal_places=6)
    status = models.CharField(max_length=6, choices=Status.choices)
    detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(auto_now=True)
    basis = models.JSONField(default=dict, help_text="Change counters checked on (staleness).")

    class Meta:
        ordering = ["date", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "date"], name="rule_check_unique_per_day"),
        ]
        indexes = [models.Index(fields=["portfolio", "date"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.date:%Y-%m-%d}: {self.status}"


class Breach(TimeStampedModel):
    """A passive breach: open from the first EOD that found it until the first that did not."""

    class State(models.TextChoices):
        OPEN = "OPEN", "Open"
        ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged"
        CURED = "CURED", "Cured"

    rule = models.ForeignKey(ComplianceRule, on_delete=models.PROTECT, related_name="breaches")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="breaches")
    started_on = models.DateField()
    deadline = models.DateField(help_text="The last business day to cure it.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    worst_value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    last_value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    last_seen_on = models.DateField()
    cured_on = models.DateField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_on", "rule"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=~Q(state="CURED"),
                name="one_open_breach_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} since {self.started_on:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CURED
