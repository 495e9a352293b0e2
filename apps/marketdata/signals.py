"""Cache invalidation and change notes: a price, fixing, revision or instrument change bumps
the market's data version, which every portfolio's read models carry (see `apps.core.cache`);
a price or fixing also notes the change of the days it moves (`apps.marketdata.changes`), so
snapshots computed before it say they are stale and funds already marked are re-marked.

Bulk imports (`bulk_create`) fire no signals: the importers and the demo store do both
themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump
from apps.marketdata.changes import MARKED_FIXINGS, fixing_moves, note_prices
from apps.marketdata.models import Fixing, Instrument, PriceRevision, SettlementPrice

MARKET_MODELS = (SettlementPrice, Fixing, PriceRevision, Instrument)


def flush_market(sender: type, instance: Any, **kwargs: Any) -> None:
    """Market data changed: every portfolio's read models."""
    bump(None)


def note_price(sender: type, instance: SettlementPrice, **kwargs: Any) -> None:
    ticker = Instrument.objects.values_list("ticker", flat=True).get(pk=instance.instrument_id)
    reason = f"{instance.get_source_display()} price of {ticker} on {instance.date:%d/%m/%Y}"
    note_prices({instance.date: {instance.instrument_id}}, reason=reason)


def note_fixing(sender: type, instance: Fixing, **kwargs: Any) -> None:
    reason = f"{instance.get_index_display()} of {instance.date:%d/%m/%Y}"
    note_prices(
        {fixing_moves(instance.index, instance.date): None},
        reason=reason,
        moves_marks=instance.index in MARKED_FIXINGS,
    )


def connect() -> None:
    for model in MARKET_MODELS:
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                flush_market, sender=model, dispatch_uid=f"flush_market_{model.__name__}_{when}"
            )
    for model, receiver in ((SettlementPrice, note_price), (Fixing, note_fixing)):
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(receiver, sender=model, dispatch_uid=f"note_{model.__name__}_{when}")
