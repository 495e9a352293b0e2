"""Journal entries as the desk reads them, with their portfolio's code.

The journal is the bottom floor and holds its links as plain ids; its pages and API live here,
above every model those ids name (portfolios, positions, trades, proposals)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from apps.journal.models import Entry
from apps.positions.models import Portfolio


def entries() -> QuerySet[Entry]:
    """Every entry with its actor and `portfolio_code` (one query)."""
    code = Portfolio.objects.filter(pk=OuterRef("portfolio_id")).values("code")[:1]
    return Entry.objects.select_related("actor").annotate(portfolio_code=Subquery(code))


def in_portfolio(rows: QuerySet[Entry], code: str) -> QuerySet[Entry]:
    """The entries of the portfolio whose code is `code`."""
    return rows.filter(portfolio_id__in=Portfolio.objects.filter(code=code).values("pk"))
