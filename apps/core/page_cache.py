"""The read-model pages' bodies, cached under versioned keys, in a frame rendered per request.

The four read-model pages (book, risk, attribution, morning pack) cache their BODY: the page
template (or its htmx fragment) rendered from the read model without the request, the same for
every user whose role flags the view puts in `params`, keyed by the fund's and the market's
data versions. Every request then renders the FRAME, base.html (user name, navigation, CSRF
token in `hx-headers`, CSP nonce, banners, messages), with the normal template engine around
the cached body (`core/cached_page.html`, cut at its body slot: the body's bytes, encoded
once, go between the two halves of the freshly rendered frame). Nothing per user or per request
lives in a body: its scripts are static files reading `<script type="application/json">` data
blocks, and its POST forms get the CSRF token from the frame (static/js/csrf.js).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from apps.core.cache import INTRADAY, MISSING, TTL, cache_get, cache_set
from apps.core.telemetry import count_lookup
from apps.core.versions import request_versions

READABLE_PARAMS = 160  # longer query strings are hashed in the key

# The active funds the request's user may see, (id, code) in page order: the body's fund picker
# lists them, so the body's key carries a digest of their ids (never one user's picker shown to
# another with other grants).
Funds = Callable[[], Sequence[tuple[int, str]]]


@dataclass(frozen=True)
class PageScope:
    """The fund a page shows and the data versions its cached body is keyed by."""

    portfolio_id: int
    market: int
    own: int
    pipelines: int
    funds: str  # a digest of the ids of the funds the picker lists
    intraday: int = 0  # the intraday prices' counter (pages show the estimate, or staleness)


@dataclass(frozen=True)
class Body:
    """What is cached of a page: its title and its HTML, encoded once (UTF-8 of a few hundred
    kB with minus signs costs ~1 ms per encode), never anything of the request."""

    title: str
    html: bytes


# Where the frame (core/cached_page.html, rendered for each request) takes the body: the
# rendered frame is cut there and the body's bytes go between its two halves.
BODY_SLOT = "<!--pms:body-->"


def page_scope(request: HttpRequest, code: str, funds: Funds) -> PageScope | None:
    """The fund `code` names among the user's `funds` (else the first) and its data versions:
    the versions are one query (shared with the frame's banner); `funds` is the app's (which
    keeps its directory cached). None without a fund."""
    versions = request_versions(request)
    directory = tuple(funds())
    if not directory:
        return None
    pk = next((pk for pk, each in directory if each == code), directory[0][0])
    listed = hashlib.sha1(",".join(str(each) for each, _ in directory).encode()).hexdigest()
    return PageScope(
        pk,
        versions.get("market", 0),
        versions.get(f"portfolio:{pk}", 0),
        versions.get("pipelines", 0),
        listed[:12],
        versions.get(INTRADAY, 0),
    )


def page_key(name: str, scope: PageScope, params: Mapping[str, Any], partial: bool) -> str:
    """rm:<page>:html:<portfolio>:m<market v>:p<portfolio v>:i<intraday v>:<page|htmx>:<sorted
    query>."""
    keyed = {**params, "funds": scope.funds}
    query = urlencode(sorted((k, str(v)) for k, v in keyed.items()))
    if len(query) > READABLE_PARAMS:
        query = "sha1-" + hashlib.sha1(query.encode()).hexdigest()
    kind = "htmx" if partial else "page"
    versions = f"m{scope.market}:p{scope.own}:i{scope.intraday}"
    return f"rm:{name}:html:{scope.portfolio_id}:{versions}:{kind}:{query}"


def cached_page(
    request: HttpRequest,
    *,
    name: str,
    code: str,
    funds: Funds,
    params: Mapping[str, Any],
    build: Callable[[], tuple[dict[str, Any], str]],
    template: str,
    title: Callable[[dict[str, Any]], str],
    fragment: str | None = None,
    bypass: bool = False,
    history: Callable[[int], bool] | None = None,
) -> HttpResponse:
    """A read-model page (or its htmx fragment): the body from the cache, else rendered and
    stored; the frame around it rendered for this request.

    `code` names the fund (else the first of `funds`, the user's); `build` returns the body's
    context and the read model's cache status; `params` must name everything besides the data
    versions that changes the body (query, role flags, the day); `history(portfolio_id)` says
    whether the request reads the past (not cached). `X-Cache` is `hit` when nothing was built
    from the database (the body or the read model came from the cache), `miss` when the read
    model was built, `bypass` for history, errors and inside a transaction; `X-Cache-Detail`
    gives each level (the body, the read model)."""
    htmx = getattr(request, "htmx", None)
    partial = bool(fragment and htmx and not htmx.history_restore_request)
    chosen = fragment if partial and fragment else template
    scope = None if bypass or connection.in_atomic_block else page_scope(request, code, funds)
    if scope is None or (history is not None and history(scope.portfolio_id)):
        count_lookup("page", name, "bypass")
        context, _ = build()
        body = _render_body(chosen, context, title)
        return _tagged(_respond(request, body, partial), "bypass", "bypass", "bypass")
    key = page_key(name, scope, params, partial)
    body = cache_get(key)
    page, data = ("miss" if body is MISSING else "hit"), "-"
    count_lookup("page", name, page)
    if body is MISSING:
        context, data = build()
        body = _render_body(chosen, context, title)
        if data != "bypass":
            cache_set(key, body, TTL.get(name, 60))
    status = "hit" if "hit" in (page, data) else data
    return _tagged(_respond(request, body, partial), status, page, data)


def _render_body(template: str, context: dict[str, Any], title: Callable[..., str]) -> Body:
    """The page's body, rendered without the request: nothing in it is per user."""
    return Body(title(context), render_to_string(template, context).encode())


def _respond(request: HttpRequest, body: Body, partial: bool) -> HttpResponse:
    """An htmx fragment as it is; a page inside base.html, rendered for this request."""
    if partial:
        return HttpResponse(body.html)
    frame = render_to_string("core/cached_page.html", {"page_title": body.title}, request=request)
    head, slot, tail = frame.partition(BODY_SLOT)
    if not slot:
        raise ImproperlyConfigured(f"core/cached_page.html lacks {BODY_SLOT}")
    return HttpResponse(b"".join((head.encode(), body.html, tail.encode())))


def _tagged(response: HttpResponse, status: str, page: str, data: str) -> HttpResponse:
    response["X-Cache"] = status
    response["X-Cache-Detail"] = f"page={page}; data={data}"
    patch_vary_headers(response, ["HX-Request"])
    return response
