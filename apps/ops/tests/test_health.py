"""Liveness and readiness (a Redis of the test's own: conftest.py); /metrics is test_metrics.py."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from apps.ops.tests.support import point_caches_at
from scripts.redis_server import RedisServer

pytestmark = pytest.mark.django_db


# --- /health -----------------------------------------------------------------------------------


def test_health_answers_anonymously_without_touching_the_database(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_health_answers_with_redis_dead(client: Client, dead_redis: RedisServer) -> None:
    assert client.get("/health").json() == {"status": "ok"}


# --- /ready ------------------------------------------------------------------------------------


def test_ready_when_database_and_cache_answer(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True


def test_ready_with_a_live_redis_of_our_own(
    client: Client, settings: Any, redis_server: RedisServer
) -> None:
    point_caches_at(settings, redis_server.url)
    response = client.get("/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["cache"]["ok"] is True


def test_ready_is_200_degraded_when_redis_is_dead(client: Client, dead_redis: RedisServer) -> None:
    """Every page still serves from the database: an orchestrator must keep the app in."""
    started = time.perf_counter()
    response = client.get("/ready")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is False
    assert_tells_nothing(response, dead_redis.port)
    assert elapsed < 5, "a dead Redis must not hang the readiness probe"


def test_ready_logs_why_the_cache_failed_with_the_request_id(
    client: Client, dead_redis: RedisServer, caplog: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="apps.ops.views"):
        response = client.get("/ready", HTTP_X_REQUEST_ID="probe-7f3a")
    assert response["X-Request-ID"] == "probe-7f3a"
    [record] = [r for r in caplog.records if "ready: cache unavailable" in r.getMessage()]
    assert record.request_id == "probe-7f3a"  # type: ignore[attr-defined]
    assert "Connection" in record.getMessage() or "Timeout" in record.getMessage()


def assert_tells_nothing(response: Any, *secrets: object) -> None:
    """No host name, port or error text in an unauthenticated probe's answer."""
    text = response.content.decode()
    for leak in ("127.0.0.1", "localhost", "Error", "refused", "port", *map(str, secrets)):
        assert leak not in text, (leak, text)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "with a session"])
def test_health_and_ready_never_500_with_the_database_down(
    pm_alice: Any, logged_in: bool, request: Any
) -> None:
    client = Client(raise_request_exception=False)
    if logged_in:
        client.force_login(pm_alice)
    request.getfixturevalue("database_down")
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"]["ok"] is False
    assert_tells_nothing(ready, connection.settings_dict["PORT"] or "5432")


def test_the_login_page_still_answers_with_redis_dead(
    client: Client, dead_redis: RedisServer
) -> None:
    assert client.get("/login/").status_code == 200
