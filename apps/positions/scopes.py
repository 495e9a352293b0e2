"""What the ground floor's caches ask of the funds, registered in `PositionsConfig.ready`:
which portfolios a write-through refresh warms (`apps.core.cache`) and which fund a cached
page shows with its data versions (`apps.core.page_cache`). Core imports no other app, so
the app that owns `positions_portfolio` answers for it."""

from __future__ import annotations

from django.db import connection

from apps.core.models import DataVersion
from apps.core.page_cache import PageScope
from apps.positions.models import Portfolio


def active_portfolios(portfolio_id: int | None) -> list[Portfolio]:
    """The active portfolios (all, or the one `portfolio_id` names)."""
    portfolios = Portfolio.objects.active()
    if portfolio_id is not None:
        portfolios = portfolios.filter(pk=portfolio_id)
    return list(portfolios)


def page_scope(code: str) -> PageScope | None:
    """The active fund `code` names (else the first, as the pages pick) and its data versions,
    in one query; None without an active fund."""
    with connection.cursor() as cursor:
        cursor.execute(_SCOPE_SQL)
        rows = cursor.fetchall()
    if not rows:
        return None
    pk, _, own, market, pipelines = next((r for r in rows if r[1] == code), rows[0])
    return PageScope(pk, market or 0, own or 0, pipelines or 0)


# Plain SQL: on a cache hit this is the page's only read-model query, and compiling the ORM
# version (two correlated subqueries) costs more than running it. Same order as
# `Portfolio.objects.active()` (Meta.ordering: code).
_SCOPE_SQL = f"""
SELECT p.id, p.code,
       (SELECT v.version FROM {DataVersion._meta.db_table} v WHERE v.scope = 'portfolio:' || p.id),
       (SELECT v.version FROM {DataVersion._meta.db_table} v WHERE v.scope = 'market'),
       (SELECT v.version FROM {DataVersion._meta.db_table} v WHERE v.scope = 'pipelines')
FROM {Portfolio._meta.db_table} p
WHERE p.active
ORDER BY p.code
"""  # table names from the models' Meta, no input
