"""The fast form of scripts/drills/redis_outage.py: three users logged in through the login
form load the pages of a live server while its private Redis is paused, resumed and killed.
No answer may be anything but a 200, and nobody may be logged out."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.drills import redis_outage
from scripts.redis_server import RedisServer
from tests.support import DEMO_PASSWORD, Book


@pytest.fixture(autouse=True)
def plain_http_cookies(settings: Any) -> None:
    """The live server speaks plain HTTP: secure cookies would never be sent back."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def read_cache(private_read_cache: str) -> str:
    """The fund (conftest.py's) reads through this test's own Redis, the one the drill
    pauses and kills."""
    return private_read_cache


def test_redis_paused_and_killed_under_load_breaks_nobodys_pages(
    fund: Book,
    cio_bob: Any,
    viewer_dan: Any,
    live_server: Any,
    redis_server: RedisServer,
    capsys: Any,
) -> None:
    code = fund.portfolio.code
    pages = [f"/book/?portfolio={code}", f"/risk/?portfolio={code}", "/market/", "/journal/"]
    users = [(name, DEMO_PASSWORD) for name in ("pm_alice", "cio_bob", "viewer_dan")]
    report = redis_outage.run(
        live_server.url, users, redis_server, pages=pages, seconds=2.0, max_p95_ms=5000
    )
    print("\n".join(report.lines()))
    assert report.logged_in == 3
    for phase in report.phases:
        assert phase.answers, phase.name
        assert not phase.failures, (phase.name, [(a.status, a.location) for a in phase.failures])
    assert report.ok, "\n".join(report.lines())
