"""The ops tests' fund, caches and Redis (the plain helpers are in support.py).

`fund` is the cached pages' fund (support.long_wdo marked, risked and its pack out) read
through `read_cache`, an isolated read-model cache; a module whose fund must read through its
own Redis overrides `read_cache` with one that returns `private_read_cache`. `redis_server`
starts a private `redis-server` on a free port (never the shared one, see
scripts/redis_server.py), so a test can point the caches at it and kill it to see what a dead
Redis does.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from celery import current_app
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import Client
from pytest_django import Settings

from apps.core import cache as read_cache_module
from apps.core.cache import breaker
from apps.ops.pipelines import run_due, run_pipeline
from apps.ops.tests.support import (
    D3,
    D4,
    MORNING,
    forget,
    long_wdo,
    point_caches_at,
    point_caches_at_port,
)
from scripts.redis_server import RedisServer, RedisServerError
from tests.support import Book, BookAt, service_missing

ISOLATED_REDIS_DB = 11  # no test flushes it; each test deletes only its own prefix


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path)
    except RedisServerError as error:
        service_missing(str(error))
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def dead_redis(settings: Settings, redis_server: RedisServer) -> Iterator[RedisServer]:
    """The caches point at a Redis that has just died; the breaker is reset afterwards."""
    from apps.core.cache import breaker

    point_caches_at(settings, redis_server.url)
    redis_server.kill()
    yield redis_server
    breaker.success()  # a per-process breaker opened here must not leak into other tests


@pytest.fixture
def database_down(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default database stops answering. PostgreSQL: the connection is closed and pointed
    at a port nothing listens on (a real refused connection). SQLite (an in-memory test
    database that closing would destroy): every connection attempt raises what SQLite raises
    for a file it cannot open. Restored before the test database is flushed."""
    if connection.vendor != "postgresql":

        def refuse() -> None:
            raise OperationalError("unable to open database file")

        monkeypatch.setattr(connection, "ensure_connection", refuse)
        yield
        monkeypatch.undo()
        return
    saved = dict(connection.settings_dict)
    connection.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(dead_port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


# --- the cached pages' fund ---------------------------------------------------------------------


@pytest.fixture
def read_cache(settings: Settings) -> Iterator[str]:
    """The read-model cache, isolated: a unique key prefix; Redis when REDIS_URL is set."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    if settings.REDIS_URL:
        isolated = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{ISOLATED_REDIS_DB}"))
        alias = {**settings.CACHES["readmodels"], "LOCATION": isolated, "KEY_PREFIX": prefix}
    else:
        alias = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
    settings.CACHES = {**settings.CACHES, "readmodels": alias}
    settings.READ_MODEL_CACHE = "readmodels"
    breaker.failures = 0
    yield prefix
    forget()
    breaker.failures = 0


@pytest.fixture
def private_read_cache(settings: Settings, redis_server: RedisServer) -> Iterator[str]:
    """Both cache aliases on the test's own Redis (a module's `read_cache` override returns
    it); the URL."""
    point_caches_at_port(settings, redis_server.port)
    breaker.failures = 0
    yield redis_server.url
    for backend in caches.all(initialized_only=True):
        backend.close()
    breaker.failures = 0


@pytest.fixture
def morning() -> Iterator[None]:
    """The clock at 08:00 of D4 in São Paulo (ticking)."""
    with time_machine.travel(MORNING, tick=True):
        yield


@pytest.fixture
def fund(book_at: BookAt, settings: Settings, read_cache: str, morning: None) -> Book:
    """WDOH25 long 10, marked and risked through D3 (a limit breached: an open alert), and
    the pack of D4; the write-through refresh is off unless a test turns it on."""
    from apps.risk.models import Limit, Metric

    settings.PIPELINE_RETRY_DELAYS = [0, 0]
    settings.ANTHROPIC_API_KEY = ""
    settings.MORNING_PACK_EMAIL = False
    settings.CACHE_WRITE_THROUGH = False
    book = long_wdo(book_at, through=D4)
    Limit.objects.create(
        portfolio=book.portfolio,
        metric=Metric.GROSS,
        warning_level=Decimal("0.0001"),
        hard_level=Decimal("0.0002"),
    )
    assert [o.status for o in run_due("eod", D3, portfolio=book.portfolio)] == ["ran"] * 3
    assert run_pipeline("preopen", book.portfolio, D4).status == "ran"
    forget()  # the pipelines warmed the read models: start cold
    return book


@pytest.fixture
def alice(client: Client, pm_alice: User) -> Client:
    """The test client, logged in as the manager."""
    client.force_login(pm_alice)
    return client


@pytest.fixture
def broker() -> Iterator[Callable[[str], None]]:
    """Point the Celery app at a broker (tasks no longer eager); restored afterwards."""
    conf = current_app.conf
    saved = conf.task_always_eager, conf.broker_url

    def use(url: str) -> None:
        conf.task_always_eager, conf.broker_url = False, url

    yield use
    conf.task_always_eager, conf.broker_url = saved
    read_cache_module._drop_broker_connection()
    read_cache_module.publisher_breaker.failures = 0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, as a worker's broker (nothing else consumes its
    queue; killing it harms no one). A worker needs a database server: PostgreSQL only."""
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database server (PostgreSQL)")
    try:
        server = RedisServer(tmp_path)
    except RedisServerError as error:
        service_missing(str(error))
    try:
        yield server
    finally:
        server.kill()
