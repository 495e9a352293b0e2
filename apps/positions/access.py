"""Per-fund access: the one selector every page, API endpoint, export and admin list goes
through to pick the funds a user may see.

A user sees the funds their grants name (`FundAccess`, theirs and their groups'); an "all
funds" grant or superuser status shows every fund. The set travels in the session under the
user's version (`core.user_facts`, fact "funds"): a change of a grant, or of the user's
groups, bumps it. An id of a fund the user may not see is answered like a missing one: 404,
never data, never "forbidden" (which would say the fund exists)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.core.user_facts import fact
from apps.positions.models import FundAccess, Portfolio

ALL = "all"


def load_fund_ids(user: Any) -> str | list[int]:
    """The user's visible fund ids, or ALL (the `funds` fact's loader)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if user.is_superuser:
        return ALL
    grants = FundAccess.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
    rows = list(grants.values_list("all_funds", "portfolio_id"))
    if any(all_funds for all_funds, _ in rows):
        return ALL
    return sorted({pk for _, pk in rows if pk is not None})


def fund_ids(user: Any) -> str | frozenset[int]:
    """ALL, or the ids of the funds `user` may see (active or not)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    found = fact(user, "funds")
    return ALL if found == ALL else frozenset(found)


def visible(
    user: Any,
    queryset: QuerySet[Any] | None = None,
    *,
    field: str = "pk",
    unscoped: bool = False,
) -> Any:
    """`queryset` (default: every portfolio) narrowed to the funds `user` may see; `field`
    names the portfolio's id in it (e.g. "portfolio_id", "position__portfolio_id");
    `unscoped` keeps the rows of no fund (a journal entry about the market)."""
    rows = Portfolio.objects.all() if queryset is None else queryset
    ids = fund_ids(user)
    if ids == ALL:
        return rows
    seen = Q(**{f"{field}__in": ids})
    return rows.filter(seen | Q(**{f"{field}__isnull": True}) if unscoped else seen)


def has_any_fund(user: Any) -> bool:
    """Whether `user` is granted at least one fund (else the pages show an empty state)."""
    return bool(fund_ids(user))


def active_fund_or_404(user: Any, code: str | None) -> Portfolio | None:
    """The active fund `code` names if `user` may see it (404 otherwise, as if it did not
    exist); without a code, the user's first active fund (None when they have none)."""
    rows = visible(user, Portfolio.objects.active())
    if not code:
        first: Portfolio | None = rows.first()
        return first
    found: Portfolio | None = rows.filter(code=code).first()
    if found is None:
        raise Http404(f"No active portfolio {code!r}.")
    return found


def may_see(user: Any, portfolio_id: int | None) -> bool:
    ids = fund_ids(user)
    return portfolio_id is not None and (ids == ALL or portfolio_id in ids)


def portfolio_or_404(user: Any, **lookup: Any) -> Portfolio:
    """The portfolio `lookup` names if `user` may see it, else 404 (as if it did not exist)."""
    portfolio = Portfolio.objects.filter(**lookup).first()
    if portfolio is None or not may_see(user, portfolio.pk):
        raise Http404("No such portfolio.")
    return portfolio


def check(user: Any, portfolio_id: int | None) -> None:
    """404 unless `user` may see the fund `portfolio_id` (object-level checks on ids)."""
    if not may_see(user, portfolio_id):
        raise Http404("No such portfolio.")
