"""Redis failing never breaks a page: a killed Redis and a "black hole" that accepts and never
answers. Every page and API answers with the right data, a warning is logged, and once the
circuit breaker is open the read models cost no network wait.

Each test starts its own throw-away `redis-server` (never the shared one) and points both cache
aliases at it, the way settings.py builds them from REDIS_URL.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.test import Client

from apps.core.cache import breaker
from apps.core.local_cache import local
from apps.ops.tests.support import (
    PAGES,
    REDIS_SOCKET_TIMEOUT,
    BlackHole,
    get,
    point_caches_at_port,
    statuses,
)
from scripts.redis_server import RedisServer
from tests.support import DEMO_PASSWORD, Book

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
EXTRA_PER_REQUEST = 0.050  # generous: the breaker makes it ~0


def point_caches_at_memory(settings: Any) -> None:
    """The baseline, no cache at all: sessions read from the database and read models built
    every time, as cached_db and the read models do with Redis dead."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        "readmodels": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.READ_MODEL_CACHE = "readmodels"


@pytest.fixture
def read_cache(private_read_cache: str) -> str:
    """The fund (conftest.py's) reads through this test's own Redis."""
    return private_read_cache


def urls(fund: Book) -> dict[str, tuple[str, bytes]]:
    """Every page and API, with something its answer must contain."""
    code = fund.portfolio.code
    return {
        "book": (f"/book/?portfolio={code}", b'data-testid="position-row"'),
        "risk": (f"/risk/?portfolio={code}", b'data-testid="kpi-var99"'),
        "attribution": (f"/attribution/?portfolio={code}", b"Year to date"),
        "morning": (f"/morning/?portfolio={code}", b">1 of 1<"),
        "blotter": ("/blotter/", b"Blotter"),
        "journal": ("/journal/", b'data-testid="journal-entries"'),
        "market": ("/market/", b"WDOH25"),
        "api book": (f"/api/book/?portfolio={code}", b'"WDOH25"'),
        "api risk snapshot": (f"/api/risk/snapshot/?portfolio={code}", b'"var99"'),
        "api attribution": (f"/api/attribution/returns/?portfolio={code}", b'"twr"'),
        "api morning pack": (f"/api/morning-pack/latest/?portfolio={code}", b'"version"'),
    }


def check_every_page(client: Client, fund: Book) -> None:
    for name, (url, expected) in urls(fund).items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        assert expected in response.content, name


def timed(client: Client, fund: Book, rounds: int = ROUNDS) -> float:
    """Seconds per page request over `rounds` of the four cached pages."""
    started = time.perf_counter()
    for _ in range(rounds):
        for page in PAGES:
            get(client, page, fund)
    return (time.perf_counter() - started) / (rounds * len(PAGES))


def test_a_killed_redis_breaks_no_page(
    fund: Book, alice: Client, redis_server: RedisServer, caplog: Any
) -> None:
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")  # Redis serves them

    redis_server.kill()
    # This process's layer still holds every page: served with no Redis call.
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")
    # A process that holds nothing (a new worker) asks Redis, logs, opens the breaker and
    # builds every page from the database.
    local.clear()
    with caplog.at_level(logging.WARNING):
        check_every_page(alice, fund)
    assert "cache unavailable" in caplog.text
    assert breaker.is_open
    # Open breaker: no Redis call at all; the pages are built once, then kept in the layer.
    local.clear()
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")
    assert get(alice, "book", fund)["X-Cache-Detail"] == "page=hit; data=-"


def test_the_breaker_bounds_what_a_dead_redis_costs(
    fund: Book, alice: Client, redis_server: RedisServer, settings: Any
) -> None:
    redis_server.kill()
    statuses(alice, fund)  # the failures that open the breaker
    assert breaker.is_open
    dead = timed(alice, fund)

    point_caches_at_memory(settings)
    statuses(alice, fund)  # warm the session cache and the code paths
    baseline = timed(alice, fund)

    assert dead - baseline < EXTRA_PER_REQUEST, (dead, baseline)


def black_hole_costs(fund: Book, client: Client, settings: Any) -> tuple[float, float, float]:
    """(seconds per page request with a black hole, without Redis at all, and per cached
    read once the breaker is open)."""
    hole = BlackHole()
    try:
        point_caches_at_port(settings, hole.port)
        breaker.failures = 0
        check_every_page(client, fund)
        assert breaker.is_open
        slow = timed(client, fund, rounds=2)
        read_model = _read_model_seconds(fund)
    finally:
        hole.close()
    point_caches_at_memory(settings)
    statuses(client, fund)
    return slow, timed(client, fund, rounds=2), read_model


def test_a_black_hole_breaks_no_page_and_costs_a_bounded_wait(
    fund: Book, alice: Client, settings: Any, caplog: Any
) -> None:
    """Connections are accepted and never answered: each call waits for the socket timeout
    until the breaker opens; then the read models skip Redis, and so do the sessions (the
    default alias is behind the same breaker)."""
    with caplog.at_level(logging.WARNING):
        slow, baseline, read_model = black_hole_costs(fund, alice, settings)
    assert "cache unavailable" in caplog.text
    assert read_model < EXTRA_PER_REQUEST / 10
    assert slow - baseline < 2 * REDIS_SOCKET_TIMEOUT + EXTRA_PER_REQUEST, (slow, baseline)


def test_a_black_hole_costs_sessions_no_wait_either(
    fund: Book, alice: Client, settings: Any
) -> None:
    slow, baseline, _ = black_hole_costs(fund, alice, settings)
    assert slow - baseline < EXTRA_PER_REQUEST, (slow, baseline)


def _read_model_seconds(fund: Book) -> float:
    """Seconds one cached read adds on top of its build while the breaker is open."""
    from apps.core.cache import read

    started = time.perf_counter()
    for i in range(20):  # a new key each time: the process's layer keeps what it is given
        assert read("book", fund.portfolio.pk, lambda: None, params=f"probe{i}").status == "miss"
    return (time.perf_counter() - started) / 20


def test_sessions_and_the_login_lockout_work_with_redis_dead(
    fund: Book, redis_server: RedisServer, pm_alice: Any
) -> None:
    from axes.models import AccessAttempt

    redis_server.kill()
    client = Client()
    client.post("/login/", {"username": "pm_alice", "password": DEMO_PASSWORD})
    assert "_auth_user_id" in client.session  # the session is in the database
    assert get(client, "book", fund).status_code == 200

    intruder = Client()
    for n in range(5):
        intruder.post("/login/", {"username": "pm_alice", "password": f"wrong-{n}"})
    locked = intruder.post("/login/", {"username": "pm_alice", "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in intruder.session
    assert AccessAttempt.objects.get(username="pm_alice").failures_since_start >= 5
