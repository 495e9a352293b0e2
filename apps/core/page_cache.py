"""The read-model pages' HTML, cached under versioned keys.

The four read-model pages (book, risk, attribution, morning pack) cache their rendered body
besides the read model itself, in two pieces fetched in one round trip:

- the body: the page template's blocks (title, head, content, scripts) or the htmx fragment,
  rendered without the request, shared by every user whose role flags the view puts in
  `params`; keyed by the fund's and the market's data versions;
- the shell: base.html around marks for those blocks (navigation, user name, the failed-run
  banner), keyed by everything it shows: the user's name, roles and flags, the path, and the
  `pipelines` and market data versions (a run's status or a fund's code changes the banner).

Per-request values are marks replaced when serving: the CSRF token and the CSP nonce. A
request with flash messages waiting renders base.html itself (messages are shown once).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

from apps.core.cache import MISSING, TTL, cache_get_many, cache_set
from apps.core.roles import role_names

CSRF_MARK = "pmscsrfmark0000"
NONCE_MARK = "pmsnoncemark0000"
PARTS = ("title", "head", "content", "scripts")
PART_MARKS = {part: f"pmspartmark{part}0000" for part in PARTS}
READABLE_PARAMS = 160  # longer query strings are hashed in the key
SHELL_TTL = 300  # seconds; the versions in its key invalidate it, this is a safety net

# Cached HTML is kept as UTF-8 pieces cut at the marks, e.g. (b"<title>", "title", b" · PMS…"):
# even positions are bytes, odd ones name what goes there (a block, "csrf" or "nonce"). A hit
# then costs one join into the response body, not a decode, replaces and an encode of a few
# hundred kB (each a fresh allocation the kernel has to map: ~1 ms on the book page).
Cut = tuple[bytes | str, ...]


@dataclass(frozen=True)
class PageScope:
    """The fund a page shows and the data versions its cached HTML is keyed by."""

    portfolio_id: int
    market: int
    own: int
    pipelines: int


@dataclass(frozen=True)
class _MarkedRequest:
    """What the cached blocks may read of the request: only the nonce, as a mark."""

    csp_nonce: str = NONCE_MARK


# Which fund a page shows and its data versions, in one query: the app that owns the funds
# registers it in its AppConfig.ready (core imports no other app and reads no other app's table).
ScopeSource = Callable[[str], "PageScope | None"]
_scopes: list[ScopeSource] = []


def register_scope(source: ScopeSource) -> None:
    """Say how to find the fund `code` names and its data versions (the positions app does)."""
    _scopes[:] = [source]


def page_scope(code: str) -> PageScope | None:
    """The active fund `code` names (else the first, as the pages pick) and its data versions;
    None without an active fund (or before the owner of the funds registered its source)."""
    return _scopes[0](code) if _scopes else None


def page_key(name: str, scope: PageScope, params: Mapping[str, Any], partial: bool) -> str:
    """rm:<page>:html:<portfolio>:m<market v>:p<portfolio v>:<page|htmx>:<sorted query>."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items()))
    if len(query) > READABLE_PARAMS:
        query = "sha1-" + hashlib.sha1(query.encode()).hexdigest()
    kind = "htmx" if partial else "page"
    return f"rm:{name}:html:{scope.portfolio_id}:m{scope.market}:p{scope.own}:{kind}:{query}"


def shell_key(request: HttpRequest, scope: PageScope) -> str:
    """rm:shell:<digest of what base.html shows of the user and path>:m<market v>:q<pipelines v>."""
    user: Any = request.user
    shown = (
        user.pk,
        user.get_full_name() or user.get_username(),
        sorted(role_names(user)),
        user.is_active,
        user.is_staff,
        user.is_superuser,
        get_script_prefix(),
        request.path,
    )
    digest = hashlib.sha1(repr(shown).encode()).hexdigest()
    return f"rm:shell:{digest}:m{scope.market}:q{scope.pipelines}"


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
    built, `bypass` for history and inside a transaction; `X-Cache-Detail` gives each level
    (the page's blocks, the read model, and for a whole page base.html's shell)."""
    htmx = getattr(request, "htmx", None)
    partial = bool(fragment and htmx and not htmx.history_restore_request)
    chosen = fragment if partial and fragment else template
    scope = None if bypass or connection.in_atomic_block else page_scope(code)
    if scope is None or (history is not None and history(scope.portfolio_id)):
        context, _ = build()
        return _tagged(render(request, chosen, context), "bypass", "bypass", "bypass")
    key = page_key(name, scope, params, partial)
    around = None if partial or _has_messages(request) else shell_key(request, scope)
    found = cache_get_many([key, around] if around else [key])
    parts = found.get(key, MISSING)
    page, data = "hit", "-"
    if parts is MISSING:
        context, data = build()
        parts = _render_parts(chosen, context, partial)
        if data != "bypass":
            cache_set(key, parts, TTL.get(name, 60))
        page = "miss"
    status = "hit" if "hit" in (page, data) else data
    if partial:
        return _tagged(_response(request, parts["fragment"], parts), status, page, data)
    if around is None:
        return _tagged(_render_around(request, parts), status, page, data)
    shell = found.get(around, MISSING)
    drawn = "hit"
    if shell is MISSING:
        shell, drawn = _render_shell(request), "miss"
        cache_set(around, shell, SHELL_TTL)
    return _tagged(_response(request, shell, parts), status, page, data, drawn)


def _tagged(
    response: HttpResponse, status: str, page: str, data: str, shell: str | None = None
) -> HttpResponse:
    response["X-Cache"] = status
    response["X-Cache-Detail"] = f"page={page}; data={data}" + (f"; shell={shell}" if shell else "")
    patch_vary_headers(response, ["HX-Request"])
    return response


def _render_parts(template_name: str, context: dict[str, Any], partial: bool) -> dict[str, Cut]:
    """The fragment, or the page template's blocks, rendered without the request, cut."""
    marked = {**context, "csrf_token": CSRF_MARK, "request": _MarkedRequest()}
    if partial:
        return {"fragment": _cut(render_to_string(template_name, marked))}
    template = get_template(template_name).template  # type: ignore[attr-defined]
    blocks = {node.name: node for node in template.nodelist.get_nodes_by_type(BlockNode)}
    ctx = Context(marked, autoescape=template.engine.autoescape)
    with ctx.render_context.push_state(template), ctx.bind_template(template):
        return {part: _cut(blocks[part].render(ctx) if part in blocks else "") for part in PARTS}


def _has_messages(request: HttpRequest) -> bool:
    """Flash messages wait for this request (counting them does not mark them shown)."""
    return bool(len(get_messages(request)))


def _render_shell(request: HttpRequest) -> Cut:
    """base.html for this user and path around marks for the blocks, the token and the nonce."""
    marks = {part: mark_safe(mark) for part, mark in PART_MARKS.items()}
    context = {"parts": marks, "csrf_token": CSRF_MARK, "request": _MarkedRequest()}
    return _cut(render_to_string("core/cached_page.html", context, request=request))


def _render_around(request: HttpRequest, parts: Mapping[str, Cut]) -> HttpResponse:
    """base.html rendered for this request around the cached blocks (messages waiting)."""
    filled = {
        part: mark_safe(b"".join(_assemble(request, cut, {})).decode())
        for part, cut in parts.items()
    }
    return render(request, "core/cached_page.html", {"parts": filled})


# --- cut HTML: rendered once, filled per request ---------------------------------------------

_SLOTS = {CSRF_MARK: "csrf", NONCE_MARK: "nonce", **{m: p for p, m in PART_MARKS.items()}}
_MARKS = re.compile("|".join(re.escape(mark) for mark in _SLOTS))


def _cut(html: str) -> Cut:
    pieces: list[bytes | str] = []
    start = 0
    for match in _MARKS.finditer(html):
        pieces += [html[start : match.start()].encode(), _SLOTS[match.group()]]
        start = match.end()
    pieces.append(html[start:].encode())
    return tuple(pieces)


def _response(request: HttpRequest, cut: Cut, parts: Mapping[str, Cut]) -> HttpResponse:
    return HttpResponse(b"".join(_assemble(request, cut, parts)))


def _assemble(request: HttpRequest, cut: Cut, parts: Mapping[str, Cut]) -> list[bytes]:
    """`cut`'s pieces with the blocks from `parts` and this request's CSRF token and nonce."""
    values: dict[str, bytes] = {}

    def value(slot: str) -> bytes:
        if slot not in values:
            if slot == "csrf":
                values[slot] = get_token(request).encode()
            elif slot == "nonce":
                values[slot] = str(getattr(request, "csp_nonce", "")).encode()
            else:  # a block the cached parts lack: nothing
                values[slot] = b""
        return values[slot]

    out: list[bytes] = []
    for piece in cut:
        if isinstance(piece, bytes):
            out.append(piece)
        elif piece in parts:
            out += [inner if isinstance(inner, bytes) else value(inner) for inner in parts[piece]]
        else:
            out.append(value(piece))
    return out
