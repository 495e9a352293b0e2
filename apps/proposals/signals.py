"""Cache invalidation only: a proposal change (created, decided, executed, its what-if) bumps
its portfolio's data version (see `apps.core.cache`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump
from apps.proposals.models import Proposal


def flush_proposals(sender: type, instance: Any, **kwargs: Any) -> None:
    """A proposal changed: its portfolio's read models."""
    bump(instance.portfolio_id)


def connect() -> None:
    post_save.connect(flush_proposals, sender=Proposal, dispatch_uid="flush_proposals_save")
    post_delete.connect(flush_proposals, sender=Proposal, dispatch_uid="flush_proposals_delete")
