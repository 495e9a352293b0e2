"""The ground floor's models: the abstract base every app's models share, and the data
versions every cached read model's key carries."""

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

    class Meta:
        db_table = "ops_dataversion"  # moved from ops with its rows: the table keeps its name

    def __str__(self) -> str:
        return f"{self.scope} v{self.version}"
