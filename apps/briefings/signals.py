"""Cache invalidation only: a new (or changed) morning pack bumps its portfolio's data version
(see `apps.core.cache`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.briefings.models import MorningPack
from apps.core.cache import bump


def flush_morning_pack(sender: type, instance: Any, **kwargs: Any) -> None:
    """A pack was generated (a new version) or changed: its portfolio's read models."""
    bump(instance.portfolio_id)


def connect() -> None:
    post_save.connect(flush_morning_pack, sender=MorningPack, dispatch_uid="flush_morning_save")
    post_delete.connect(flush_morning_pack, sender=MorningPack, dispatch_uid="flush_morning_delete")
