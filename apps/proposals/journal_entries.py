"""Journal entries as the desk reads them, with their portfolio's code.

The journal is the bottom floor and holds its links as plain ids; its pages and API live here,
above every model those ids name (portfolios, positions, trades, proposals)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from apps.journal.models import Entry
from apps.positions.access import visible
from apps.positions.models import Portfolio


def entries(user: Any) -> QuerySet[Entry]:
    """The entries `user` may read (their funds', and those of no fund: the market, the
    settings) with their actor and `portfolio_code` (one query)."""
    code = Portfolio.objects.filter(pk=OuterRef("portfolio_id")).values("code")[:1]
    rows = Entry.objects.select_related("actor").annotate(portfolio_code=Subquery(code))
    scoped: QuerySet[Entry] = visible(user, rows, field="portfolio_id", unscoped=True)
    return scoped


def in_portfolio(rows: QuerySet[Entry], code: str) -> QuerySet[Entry]:
    """The entries of the portfolio whose code is `code`."""
    return rows.filter(portfolio_id__in=Portfolio.objects.filter(code=code).values("pk"))
