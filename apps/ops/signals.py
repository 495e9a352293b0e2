"""Cache invalidation for the failed-run banner: a pipeline run that starts, fails or succeeds
changes the banner every page's frame shows (its runs are cached, see `apps.ops.page_cache`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.ops.cache import bump_pipelines
from apps.ops.models import PipelineRun


def flush_shells(sender: type, instance: Any, **kwargs: Any) -> None:
    bump_pipelines()


def connect() -> None:
    post_save.connect(flush_shells, sender=PipelineRun, dispatch_uid="flush_shells_save")
    post_delete.connect(flush_shells, sender=PipelineRun, dispatch_uid="flush_shells_delete")
