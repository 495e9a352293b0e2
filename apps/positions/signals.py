"""Cache invalidation only: a write to a portfolio's book bumps its data version (see
`apps.core.cache`); the write-through refresh runs after commit.

`DailyMark` has no receiver on purpose: the MTM writes marks in bulk (`ops.bulk`) and deletes a
day's marks with `QuerySet.delete()`, which a `post_delete` receiver would turn into one query
per mark; `run_mtm` bumps the portfolio itself.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump, bump_user, shows_change
from apps.core.staleness import book_scope, record_change
from apps.positions.models import (
    CapitalFlow,
    FundAccess,
    NavRecord,
    Portfolio,
    Position,
    Strategy,
    Trade,
)

BOOK_MODELS = (Trade, Position, CapitalFlow, NavRecord, Strategy)
# Fields no read model shows: the manager's plan is on the position page only (not cached).
UNSHOWN: dict[type, frozenset[str]] = {
    Position: frozenset({"thesis", "stop", "target", "updated_at"}),
}


def flush_book(sender: type, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A trade, position, flow, NAV record or strategy changed: its portfolio's read models."""
    if shows_change(update_fields, UNSHOWN.get(sender, frozenset())):
        bump(instance.portfolio_id)


def note_book(sender: type, instance: Any, **kwargs: Any) -> None:
    """A trade or a capital flow written: the fund's book changed on its date (what snapshots
    computed before it are stale against, `apps.core.staleness`)."""
    day = instance.trade_date if isinstance(instance, Trade) else instance.date
    record_change(book_scope(instance.portfolio_id), [day])


def flush_portfolios(sender: type, instance: Any, **kwargs: Any) -> None:
    """A portfolio changed (name, active, initial NAV): every page lists the funds."""
    bump(None)


def connect() -> None:
    for model in BOOK_MODELS:
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                flush_book, sender=model, dispatch_uid=f"flush_book_{model.__name__}_{when}"
            )
    for model in (Trade, CapitalFlow):
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                note_book, sender=model, dispatch_uid=f"note_book_{model.__name__}_{when}"
            )
    post_save.connect(flush_portfolios, sender=Portfolio, dispatch_uid="flush_portfolios_save")
    post_delete.connect(flush_portfolios, sender=Portfolio, dispatch_uid="flush_portfolios_delete")


def grants_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """A fund grant changed: the funds its users may see (kept in their sessions) are stale."""
    if instance.user_id is not None:
        bump_user(instance.user_id)
    elif instance.group_id is not None:
        for user_id in instance.group.user_set.values_list("pk", flat=True):
            bump_user(user_id)


def connect_grants() -> None:
    for signal, when in ((post_save, "save"), (post_delete, "delete")):
        signal.connect(grants_changed, sender=FundAccess, dispatch_uid=f"fund_grants_{when}")
