"""Cache invalidation only: a proposal change (created, decided, executed, its what-if) bumps
its portfolio's data version (see `apps.core.cache`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump, shows_change
from apps.proposals.models import Proposal

# Fields no read model shows: the what-if and the original terms are on the proposal's own
# page (not cached); a stored morning pack keeps what it said when it was generated.
UNSHOWN = frozenset({"what_if", "original_terms", "updated_at"})


def flush_proposals(sender: type, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A proposal changed: its portfolio's read models."""
    if shows_change(update_fields, UNSHOWN):
        bump(instance.portfolio_id)


def connect() -> None:
    post_save.connect(flush_proposals, sender=Proposal, dispatch_uid="flush_proposals_save")
    post_delete.connect(flush_proposals, sender=Proposal, dispatch_uid="flush_proposals_delete")
