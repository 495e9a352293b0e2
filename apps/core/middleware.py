"""The ground floor's middleware: the request id (outermost), Server-Timing, and the probes.

Server-Timing says what the server spent on a request, for the browser's developer tools and
for `make bench` (the cache-hit target is server time).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from apps.core import request_id

GetResponse = Callable[[HttpRequest], HttpResponseBase]
Probe = Callable[[HttpRequest], HttpResponseBase]

# Path → view the ProbeMiddleware answers; the app that owns the probes (ops: /health, /ready)
# registers them in its AppConfig.ready (core imports no other app).
PROBES: dict[str, Probe] = {}


def register_probe(path: str, view: Probe) -> None:
    PROBES[path] = view


class RequestIdMiddleware:
    """Sets the request id (apps.core.request_id) for the request's log lines and answers it in
    `X-Request-ID` on every response. Outermost, so every other middleware logs with it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        value = request_id.from_header(request.headers.get(request_id.HEADER))
        request.request_id = value  # type: ignore[attr-defined]
        token = request_id.current.set(value)
        try:
            response = self.get_response(request)
        finally:
            request_id.current.reset(token)
        response[request_id.HEADER] = value
        return response


class ServerTimingMiddleware:
    """`Server-Timing: app;dur=<ms>`, measured around every other middleware and the view."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response


class ProbeMiddleware:
    """Answers `/health` and `/ready` before sessions, authentication, the host check and the
    HTTPS redirect: a probe must not load a session (a cookie would turn a database outage
    into a 500 on the liveness probe) nor depend on the Host an orchestrator sends."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
