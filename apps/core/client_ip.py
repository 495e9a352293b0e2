"""The client's IP address, as the login lockout (django-axes) and the logs see it.

`PROXY_COUNT` is the number of reverse proxies in front of gunicorn. Each proxy appends the
address it received the request from to X-Forwarded-For, so with N proxies the client is the
N-th entry from the right; everything left of it is whatever the client chose to send. With 0
(gunicorn reached directly) the header is ignored: the socket address is the only one a client
cannot forge, and a forged header must not give an attacker a fresh lockout counter.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address the outermost trusted proxy saw, or the socket's without a proxy."""
    remote = request.META.get("REMOTE_ADDR")
    count: int = settings.PROXY_COUNT
    if count == 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        return remote  # not through the expected proxies: trust nothing in the header
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
