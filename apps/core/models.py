"""The ground floor's models: the abstract base every app's models share, the data
versions every cached read model's key carries, and the outbox of read-model refreshes."""

from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DataVersion(models.Model):
    """A counter per scope ("portfolio:<id>" or "market") that every cached read model's key
    carries; a write bumps it in its own transaction, so a rolled-back write changes nothing
    and a committed one makes every older cache entry unreachable."""

    scope = models.CharField(max_length=48, unique=True)
    version = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(null=True, blank=True, help_text="The last increment.")

    class Meta:
        db_table = "ops_dataversion"  # moved from ops with its rows: the table keeps its name

    def __str__(self) -> str:
        return f"{self.scope} v{self.version}"


class RefreshRequest(models.Model):
    """The outbox of the write-through refresh: a scope ("portfolio:<id>" or "market") whose
    read models a write left to rebuild. Written in the write's own transaction (so a committed
    write always leaves one, and a rolled-back write none); one row per scope, so a burst of
    writes asks once. The refresh task deletes it before it rebuilds; a row the task never
    reached (the broker was down, the worker died) is picked up by the periodic sweep."""

    scope = models.CharField(max_length=48, unique=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    writes = models.PositiveIntegerField(default=1, help_text="Writes coalesced into this request.")

    def __str__(self) -> str:
        return f"refresh {self.scope} ({self.writes} writes since {self.requested_at:%H:%M:%S})"


class Change(models.Model):
    """What a computed snapshot is stale against: the latest change of one scope's inputs for
    one day. Scopes: "book:<portfolio id>" (trades and capital flows, by trade or flow date),
    "prices" (settlement prices and fixings, by the first date whose marks they move) and
    "intraday" (intraday prices, by their business date).

    `version` comes from the scope's `DataVersion` counter, incremented in the writing
    transaction: a snapshot records the counters it read before reading its inputs (its
    basis), so a write committed after that read always has a greater version, however the
    two transactions interleave. `changed_at` is for people ("book changed at 10:42")."""

    scope = models.CharField(max_length=48)
    day = models.DateField()
    version = models.PositiveBigIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "day"], name="change_per_day")]
        indexes = [models.Index(fields=["scope", "version"], name="change_scope_version")]

    def __str__(self) -> str:
        return f"{self.scope} {self.day} v{self.version} at {self.changed_at:%Y-%m-%d %H:%M}"
