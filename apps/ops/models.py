"""The pipelines' runs, their steps and leases."""

from django.db import models

from apps.journal.models import JournalAnchored


class PipelineRun(JournalAnchored):
    class Pipeline(models.TextChoices):
        EOD = "eod", "End of day (18:00)"
        PREOPEN = "preopen", "Pre-open (06:00)"

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCESS = "SUCCESS", "Succeeded"
        FAILED = "FAILED", "Failed"
        ABANDONED = "ABANDONED", "Abandoned (its process died)"

    pipeline = models.CharField(max_length=8, choices=Pipeline.choices)
    business_date = models.DateField()
    portfolio = models.ForeignKey(
        "positions.Portfolio", on_delete=models.PROTECT, related_name="pipeline_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempt = models.PositiveIntegerField(default=1, help_text="How many times it was started.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the process running it."
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=64, default="beat")

    class Meta:
        ordering = ["-business_date", "pipeline", "portfolio"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "business_date", "portfolio"], name="pipeline_run_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["RUNNING", "SUCCESS", "FAILED", "ABANDONED"]),
                name="pipeline_run_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} {self.business_date} {self.portfolio}: {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class StepRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCESS = "SUCCESS", "Succeeded"
        FAILED = "FAILED", "Failed"
        SKIPPED = "SKIPPED", "Skipped"
        ABANDONED = "ABANDONED", "Abandoned (its process died)"

    run = models.ForeignKey(PipelineRun, on_delete=models.PROTECT, related_name="steps")
    run_attempt = models.PositiveIntegerField(default=1, help_text="The run attempt it belongs to.")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Tries, with retries.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "run_attempt", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "run_attempt", "name"], name="step_once_per_attempt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run} · {self.name}: {self.status}"


class PipelineLease(models.Model):
    """Who runs a pipeline of a portfolio now: one row per (pipeline, portfolio), taken with a
    conditional UPDATE (free or expired), so it holds across processes on PostgreSQL and on
    the embedded SQLite alike. The holder renews `expires_at` while it runs (a heartbeat); a
    holder killed with SIGKILL stops renewing, and the next trigger or the beat sweep takes
    the lease over and marks its run ABANDONED."""

    pipeline = models.CharField(max_length=8, choices=PipelineRun.Pipeline.choices)
    portfolio = models.ForeignKey(
        "positions.Portfolio", on_delete=models.CASCADE, related_name="pipeline_leases"
    )
    holder = models.CharField(max_length=128, blank=True, help_text="host:pid:token; empty = free")
    expires_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        PipelineRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    through = models.DateField(null=True, blank=True, help_text="The date being run.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "portfolio"], name="pipeline_lease_unique")
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} {self.portfolio_id}: {self.holder or 'free'}"


class CanvasRun(JournalAnchored):
    """One EOD or pre-open of the firm as a Celery canvas: the market step once for every fund
    (prices checked, the factor history built and stored), one task per fund (each its own
    PipelineRun), then the firm step over the funds that succeeded, naming those that failed.
    One row per (pipeline, business date); a new canvas for the day is a new attempt."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCESS = "SUCCESS", "Every fund succeeded"
        PARTIAL = "PARTIAL", "Some funds failed"
        FAILED = "FAILED", "The market step failed: no fund ran"

    pipeline = models.CharField(max_length=8, choices=PipelineRun.Pipeline.choices)
    business_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempt = models.PositiveIntegerField(default=1)
    triggered_by = models.CharField(max_length=64, default="beat")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    funds = models.JSONField(default=list, help_text="The portfolio ids of the canvas.")
    market_version = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The market data version the market step read."
    )
    priced = models.JSONField(
        null=True, blank=True, help_text="EOD: the instrument ids priced on the day (the check)."
    )
    steps = models.JSONField(
        default=list, help_text="The market and firm steps: stage, name, status, detail, seconds."
    )
    succeeded = models.JSONField(default=list, help_text="Codes of the funds that succeeded.")
    failed = models.JSONField(
        default=list, help_text="The funds that did not: portfolio, code, run, reason."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-business_date", "pipeline"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "business_date"], name="canvas_run_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=["RUNNING", "SUCCESS", "PARTIAL", "FAILED"]),
                name="canvas_run_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} {self.business_date} (firm): {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def stage(self, name: str) -> list[dict[str, object]]:
        """The recorded steps of one stage ("market" or "firm"), in order."""
        return [s for s in self.steps if s.get("stage") == name]


class CheckResult(models.Model):
    """The last result of work done outside the web process, for /metrics and the alerts: one
    row per name, overwritten each time. The journal's hash chain (too long to recompute at
    every scrape: a beat task does it) and the last backup (scripts/backup.sh writes the row,
    from wherever the backups live)."""

    class Name(models.TextChoices):
        JOURNAL_CHAIN = "journal_chain", "Journal hash chain"
        BACKUP = "backup", "Backup (scripts/backup.sh)"

    name = models.CharField(max_length=32, choices=Name.choices, unique=True)
    ok = models.BooleanField()
    detail = models.TextField(blank=True)
    checked_at = models.DateTimeField()
    seconds = models.FloatField(default=0.0, help_text="How long the check took.")

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILED'} at {self.checked_at:%Y-%m-%d %H:%M}"
