"""Cache invalidation for the failed-run banner: a pipeline run that starts, fails or succeeds
changes the banner every page's frame shows (its runs are cached under the `pipelines`
version, see `apps.ops.context_processors`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump_pipelines, shows_change
from apps.ops.models import CanvasRun, PipelineRun

# Fields the failed-run banner does not show: the journal anchor, the lease's heartbeat; of a
# canvas it shows only a failed market step (its status and error).
UNSHOWN: dict[type, frozenset[str]] = {
    PipelineRun: frozenset({"journal_seq", "journal_hash", "heartbeat_at"}),
    CanvasRun: frozenset(
        {"journal_seq", "journal_hash", "steps", "priced", "market_version", "succeeded"}
        | {"failed", "funds", "finished_at"}
    ),
}


def flush_banner(sender: type, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if shows_change(update_fields, UNSHOWN[sender]):
        bump_pipelines()


def connect() -> None:
    for model in (PipelineRun, CanvasRun):
        name = model.__name__
        post_save.connect(flush_banner, sender=model, dispatch_uid=f"flush_banner_save_{name}")
        post_delete.connect(flush_banner, sender=model, dispatch_uid=f"flush_banner_delete_{name}")
