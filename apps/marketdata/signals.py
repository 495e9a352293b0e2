"""Cache invalidation only: a price, fixing, revision or instrument change bumps the market's
data version, which every portfolio's read models carry (see `apps.core.cache`).

Bulk imports (`bulk_create`) fire no signals: the importers and the demo store bump themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump
from apps.marketdata.models import Fixing, Instrument, PriceRevision, SettlementPrice

MARKET_MODELS = (SettlementPrice, Fixing, PriceRevision, Instrument)


def flush_market(sender: type, instance: Any, **kwargs: Any) -> None:
    """Market data changed: every portfolio's read models."""
    bump(None)


def connect() -> None:
    for model in MARKET_MODELS:
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                flush_market, sender=model, dispatch_uid=f"flush_market_{model.__name__}_{when}"
            )
