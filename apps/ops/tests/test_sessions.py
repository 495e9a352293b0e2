"""Sessions live in the database only: a logout made while Redis is paused, and a session the
database no longer has (a restore from a backup taken before the login), are never honoured
once Redis answers again. Each test runs a private redis-server (scripts/redis_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from prometheus_client import REGISTRY

from apps.core.cache import breaker
from apps.ops.tests.support import point_caches_at
from scripts.redis_server import RedisServer
from tests.support import DEMO_PASSWORD, log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_redis(settings: Any, redis_server: RedisServer) -> Iterator[RedisServer]:
    point_caches_at(settings, redis_server.url)
    breaker.success()
    yield redis_server
    redis_server.resume()
    breaker.success()


def _logged_in(pm_alice: Any) -> Client:
    client = Client()
    assert log_in(client, pm_alice.username, DEMO_PASSWORD)
    assert client.get("/market/").status_code == 200  # the session is read (and cached) again
    return client


def _with_cookie(value: str) -> Client:
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = value
    return client


def _is_sent_to_login(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_logout_made_while_redis_is_paused_does_not_come_back(
    private_redis: RedisServer, pm_alice: Any
) -> None:
    client = _logged_in(pm_alice)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    private_redis.pause()
    for _ in range(breaker.threshold):  # other requests time out on the hung Redis
        caches["default"].get("anything")
    assert breaker.is_open  # so the logout's cache delete (cached_db) never reached Redis
    assert client.get("/market/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert not Session.objects.filter(session_key=cookie).exists()

    private_redis.resume()
    breaker.success()  # the cooldown is over: Redis is asked again
    assert _is_sent_to_login(_with_cookie(cookie).get("/market/"))


def test_a_session_the_database_does_not_have_is_never_honoured(
    private_redis: RedisServer, pm_alice: Any
) -> None:
    """A restore from a backup taken before the login: Redis still knows the session."""
    client = _logged_in(pm_alice)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=cookie).delete()  # what the restore leaves

    assert _is_sent_to_login(client.get("/market/"))


def test_sessions_do_not_touch_redis(private_redis: RedisServer, pm_alice: Any) -> None:
    """A session costs no Redis round trip, so a hung Redis cannot slow or break a login."""
    private_redis.pause()
    errors = REGISTRY.get_sample_value("pms_cache_errors_total")
    client = Client()
    assert log_in(client, pm_alice.username, DEMO_PASSWORD)
    assert client.post("/logout/").status_code == 302
    assert REGISTRY.get_sample_value("pms_cache_errors_total") == errors, (
        "a session call waited for the hung Redis"
    )


def test_the_engine_honours_a_live_session_and_refuses_an_expired_one() -> None:
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    live = SessionStore()
    live["answer"] = 42
    live.create()
    assert SessionStore(live.session_key).load() == {"answer": 42}

    Session.objects.filter(session_key=live.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    stale = SessionStore(live.session_key)
    assert stale.load() == {}
    assert stale.session_key is None  # a new session would get a new key
