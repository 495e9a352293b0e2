"""Serializer fields shared by every API that returns a computed snapshot."""

from __future__ import annotations

from rest_framework import serializers


class Freshness(serializers.Serializer):  # type: ignore[type-arg]
    """`stale` and why (`apps.core.staleness`): whether the book or a price the snapshot covers
    changed after `computed_at`."""

    stale = serializers.BooleanField(
        help_text="True when the book or a price it covers changed after it was computed."
    )
    stale_reason = serializers.CharField(help_text="What changed and when (empty when fresh).")
