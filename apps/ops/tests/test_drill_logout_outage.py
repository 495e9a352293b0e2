"""The fast form of scripts/drills/logout_outage.py against a live server and its private
Redis: a logout made while Redis is paused, or killed, is still a logout once Redis answers."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.cache import breaker
from scripts.drills import logout_outage
from scripts.redis_server import RedisServer
from tests.support import DEMO_PASSWORD, Book


@pytest.fixture(autouse=True)
def plain_http_cookies(settings: Any) -> None:
    """The live server speaks plain HTTP: secure cookies would never be sent back."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def read_cache(private_read_cache: str) -> str:
    """The fund (conftest.py's) reads through this test's own Redis, the one the drill
    pauses and kills."""
    return private_read_cache


def test_a_logout_during_a_redis_outage_stays_a_logout(
    fund: Book, live_server: Any, redis_server: RedisServer
) -> None:
    code = fund.portfolio.code
    try:
        report = logout_outage.run(
            live_server.url,
            ("pm_alice", DEMO_PASSWORD),
            redis_server,
            traffic_pages=[f"/book/?portfolio={code}", f"/risk/?portfolio={code}"],
            settle=breaker.success,  # the cooldown is over: Redis is asked again
        )
    finally:
        breaker.success()
    print("\n".join(report.lines()))
    assert [s.name for s in report.steps if not s.ok] == []
    assert len(report.steps) == 11
