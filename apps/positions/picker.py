"""The fund picker of the pages: the active funds a user may see, and the one they chose last.

The directory of active funds (id, code) is cached under the market version (a portfolio's
save bumps it) and narrowed to the user's funds from their session (`access.fund_ids`): a
cached page asks the database for neither. `?portfolio=<code>` picks a fund and is remembered
in the session (key "fund"); a page asked without it shows the remembered fund, else the first.
A code the user may not see (or that names no active fund) is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.cache import MISSING, cache_get, cache_set
from apps.core.versions import request_versions
from apps.positions.access import ALL, fund_ids
from apps.positions.models import Portfolio

SESSION_KEY = "fund"
DIRECTORY_TTL = 300  # seconds; the market version in the key invalidates, this is a safety net


def directory(request: HttpRequest) -> list[tuple[int, str]]:
    """The active funds' (id, code) the request's user may see, in the pages' order."""
    market = request_versions(request).get("market", 0)
    key = f"rm:funds:m{market}"
    rows = cache_get(key)
    if rows is MISSING:
        rows = tuple(Portfolio.objects.active().values_list("pk", "code"))
        cache_set(key, rows, DIRECTORY_TTL)
    ids = fund_ids(request.user)
    return [(pk, code) for pk, code in rows if ids == ALL or pk in ids]


def chosen_code(request: HttpRequest, funds: list[tuple[int, str]]) -> str:
    """The fund the page shows: `?portfolio=` (remembered), else the remembered one, else ""
    (the page's first fund). 404 for a code not among `funds`."""
    codes = {code for _, code in funds}
    asked = request.GET.get("portfolio", "")
    if asked:
        if asked not in codes:
            raise Http404(f"No active portfolio {asked!r}.")
        if request.session.get(SESSION_KEY) != asked:
            request.session[SESSION_KEY] = asked
        return asked
    kept = request.session.get(SESSION_KEY, "")
    return kept if isinstance(kept, str) and kept in codes else ""


def pick(request: HttpRequest) -> tuple[Callable[[], list[tuple[int, str]]], str]:
    """The user's active funds (read when first asked: a page built in a transaction, which
    the page cache bypasses, lists them itself) and the code of the one to show ("" for the
    first); 404 for a code the user may not see."""
    funds = cache(lambda: directory(request))
    if not request.GET.get("portfolio") and not request.session.get(SESSION_KEY):
        return funds, ""
    return funds, chosen_code(request, funds())


def no_fund(request: HttpRequest, title: str) -> HttpResponse:
    """The empty state of a page for a user granted no fund (not an error)."""
    return render(request, "positions/no_fund.html", {"page_title": title})
