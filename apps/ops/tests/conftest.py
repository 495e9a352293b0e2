"""The ops tests' fund and Redis.

`long_wdo` is the fund most ops tests run pipelines on. `redis_server` starts a private
`redis-server` on a free port (never the shared one, see scripts/redis_server.py), so a test
can point the caches at it and kill it to see what a dead Redis does.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from asgiref.local import Local
from django.core.cache import caches
from django.db import OperationalError, connection

from conftest import Book, service_missing
from pms_project.caches import redis_caches
from scripts.redis_server import RedisServer, RedisServerError

# WDOH25 settlements of 3 to 6 Feb 2025 (business days).
WDO_CLOSES = (
    (date(2025, 2, 3), "5539.36"),
    (date(2025, 2, 4), "5575.65"),
    (date(2025, 2, 5), "5560.00"),
    (date(2025, 2, 6), "5570.00"),
)


def long_wdo(book_at: Any, through: date) -> Book:
    """A fund long 10 WDOH25 bought at 5,529.50 on 3 Feb 2025, with the settlements, CDI and
    PTAX of every business day from 3 Feb through `through` (nothing marked yet)."""
    first = WDO_CLOSES[0][0]
    book: Book = book_at(first, "WDOH25")
    for day, close in WDO_CLOSES:
        if day <= through:
            book.market_day("WDOH25", day, close)
    book.trade("WDOH25", "BUY", "10", first, price="5529.50")
    return book


def point_caches_at(settings: Any, url: str, timeout: float = 0.1) -> None:
    """Both cache aliases (as settings.py builds them with REDIS_URL) on `url`, fresh clients;
    `timeout` is the socket timeout (settings.py's REDIS_SOCKET_TIMEOUT is 0.25 s)."""
    for backend in caches.all(initialized_only=True):
        backend.close()  # no client of the old configuration survives
    settings.REDIS_URL = url
    settings.READ_MODEL_CACHE = "readmodels"
    settings.CACHES = redis_caches(url, prefix="pms-t", timeout=timeout)
    # Django's setting_changed handler rebuilds the handler too; be explicit about it.
    caches._settings = caches.settings = caches.configure_settings(settings.CACHES)
    caches._connections = Local()


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
def dead_redis(settings: Any, redis_server: RedisServer) -> Iterator[RedisServer]:
    """The caches point at a Redis that has just died; the breaker is reset afterwards."""
    from apps.core.cache import breaker

    point_caches_at(settings, redis_server.url)
    redis_server.kill()
    yield redis_server
    breaker.success()  # a per-process breaker opened here must not leak into other tests


@pytest.fixture
def database_down(transactional_db: None, monkeypatch: Any) -> Iterator[None]:
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
