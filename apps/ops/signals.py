"""Cache invalidation for the failed-run banner: a pipeline run that starts, fails or succeeds
changes the banner every page's frame shows (its runs are cached under the `pipelines`
version, see `apps.ops.context_processors`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump_pipelines, shows_change
from apps.ops.models import PipelineRun

# Fields the failed-run banner does not show: the journal anchor, the lease's heartbeat.
UNSHOWN = frozenset({"journal_seq", "journal_hash", "heartbeat_at"})


def flush_banner(sender: type, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if shows_change(update_fields, UNSHOWN):
        bump_pipelines()


def connect() -> None:
    post_save.connect(flush_banner, sender=PipelineRun, dispatch_uid="flush_banner_save")
    post_delete.connect(flush_banner, sender=PipelineRun, dispatch_uid="flush_banner_delete")
