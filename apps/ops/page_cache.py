"""The read-model pages' HTML, cached under versioned keys.

The four read-model pages (book, risk, attribution, morning pack) cache their rendered body
besides the read model itself. Only what is the same for every user with the same role flags
is cached: the page template's blocks (title, head, content, scripts) or the htmx fragment,
rendered without the request. Per-request values are marks replaced when serving: the CSRF
token and the CSP nonce. base.html (navigation, user name, messages, banner) is rendered per
request around the cached blocks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

from apps.ops.cache import MISSING, TTL, cache_get, cache_set

CSRF_MARK = "pmscsrfmark0000"
NONCE_MARK = "pmsnoncemark0000"
PARTS = ("title", "head", "content", "scripts")
READABLE_PARAMS = 160  # longer query strings are hashed in the key


@dataclass(frozen=True)
class PageScope:
    """The fund a page shows and the data versions its cached HTML is keyed by."""

    portfolio_id: int
    market: int
    own: int


@dataclass(frozen=True)
class _MarkedRequest:
    """What the cached blocks may read of the request: only the nonce, as a mark."""

    csp_nonce: str = NONCE_MARK


def page_scope(code: str) -> PageScope | None:
    """The active fund `code` names (else the first, as the pages pick) and its data versions,
    in one query; None without an active fund."""
    with connection.cursor() as cursor:
        cursor.execute(_SCOPE_SQL)
        rows = cursor.fetchall()
    if not rows:
        return None
    pk, _, own_version, market_version = next((r for r in rows if r[1] == code), rows[0])
    return PageScope(pk, market_version or 0, own_version or 0)


# Plain SQL: on a cache hit this is the page's only read-model query, and compiling the ORM
# version (two correlated subqueries) costs more than running it. Same order as
# `Portfolio.objects.active()` (Meta.ordering: code).
_SCOPE_SQL = """
SELECT p.id, p.code,
       (SELECT v.version FROM ops_dataversion v WHERE v.scope = 'portfolio:' || p.id),
       (SELECT v.version FROM ops_dataversion v WHERE v.scope = 'market')
FROM positions_portfolio p
WHERE p.active
ORDER BY p.code
"""


def page_key(name: str, scope: PageScope, params: Mapping[str, Any], partial: bool) -> str:
    """rm:<page>:html:<portfolio>:m<market v>:p<portfolio v>:<page|htmx>:<sorted query>."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items()))
    if len(query) > READABLE_PARAMS:
        query = "sha1-" + hashlib.sha1(query.encode()).hexdigest()
    kind = "htmx" if partial else "page"
    return f"rm:{name}:html:{scope.portfolio_id}:m{scope.market}:p{scope.own}:{kind}:{query}"


def cached_page(
    request: HttpRequest,
    *,
    name: str,
    code: str,
    params: Mapping[str, Any],
    build: Callable[[], tuple[dict[str, Any], str]],
    template: str,
    fragment: str | None = None,
    bypass: bool = False,
    history: Callable[[int], bool] | None = None,
) -> HttpResponse:
    """A read-model page (or its htmx fragment) from the HTML cache, else rendered and stored.

    `code` names the fund (else the first active one); `build` returns the template context and
    the read model's cache status; `params` must name everything besides the data versions that
    changes the HTML (query, role flags, the day); `history(portfolio_id)` says whether the
    request reads the past (not cached). `X-Cache` is `hit` when nothing was built from the
    database (the HTML or the read model came from the cache), `miss` when the read model was
    built, `bypass` for history and inside a transaction; `X-Cache-Detail` gives both levels."""
    htmx = getattr(request, "htmx", None)
    partial = bool(fragment and htmx and not htmx.history_restore_request)
    chosen = fragment if partial and fragment else template
    scope = None if bypass or connection.in_atomic_block else page_scope(code)
    if scope is None or (history is not None and history(scope.portfolio_id)):
        context, _ = build()
        return _tagged(render(request, chosen, context), "bypass", "bypass", "bypass")
    key = page_key(name, scope, params, partial)
    parts = cache_get(key)
    page, data = "hit", "-"
    if parts is MISSING:
        context, data = build()
        parts = _render_parts(chosen, context, partial)
        if data != "bypass":
            cache_set(key, parts, TTL.get(name, 60))
        page = "miss"
    status = "hit" if "hit" in (page, data) else data
    return _tagged(_serve(request, parts), status, page, data)


def _tagged(response: HttpResponse, status: str, page: str, data: str) -> HttpResponse:
    response["X-Cache"] = status
    response["X-Cache-Detail"] = f"page={page}; data={data}"
    patch_vary_headers(response, ["HX-Request"])
    return response


def _render_parts(template_name: str, context: dict[str, Any], partial: bool) -> dict[str, str]:
    """The fragment, or the page template's blocks, rendered without the request."""
    marked = {**context, "csrf_token": CSRF_MARK, "request": _MarkedRequest()}
    if partial:
        return {"fragment": render_to_string(template_name, marked)}
    template = get_template(template_name).template  # type: ignore[attr-defined]
    blocks = {node.name: node for node in template.nodelist.get_nodes_by_type(BlockNode)}
    ctx = Context(marked, autoescape=template.engine.autoescape)
    with ctx.render_context.push_state(template), ctx.bind_template(template):
        return {part: blocks[part].render(ctx) if part in blocks else "" for part in PARTS}


def _serve(request: HttpRequest, parts: dict[str, str]) -> HttpResponse:
    token: dict[str, str] = {}

    def fill(text: str) -> str:
        if CSRF_MARK in text:
            if "csrf" not in token:
                token["csrf"] = get_token(request)
            text = text.replace(CSRF_MARK, token["csrf"])
        if NONCE_MARK in text:
            text = text.replace(NONCE_MARK, str(getattr(request, "csp_nonce", "")))
        return text

    if "fragment" in parts:
        return HttpResponse(fill(parts["fragment"]))
    filled = {part: mark_safe(fill(html)) for part, html in parts.items()}
    return render(request, "ops/cached_page.html", {"parts": filled})
