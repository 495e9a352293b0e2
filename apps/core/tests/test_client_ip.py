"""The client address behind N reverse proxies (PROXY_COUNT): apps/core/client_ip.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from apps.core.client_ip import client_ip

SOCKET = "10.0.0.2"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "", SOCKET),
        (0, "198.51.100.1", SOCKET),  # no proxy: the header is the client's word
        (1, "203.0.113.7", "203.0.113.7"),  # Caddy set it
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # what the client prepended is ignored
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # load balancer + Caddy
        (2, "203.0.113.7", SOCKET),  # fewer hops than proxies: not through them, trust none
        (1, "not-an-address", SOCKET),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_address_the_outermost_proxy_saw(
    settings: Any, count: int, forwarded: str, expected: str
) -> None:
    settings.PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=SOCKET, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
