"""The ops tests' fund and Redis.

`long_wdo` is the fund most ops tests run pipelines on. `redis_server` starts a private
`redis-server` on a free port (never the shared one, see scripts/redis_server.py), so a test
can point the caches at it and kill it to see what a dead Redis does.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection

from apps.ops.tests.support import point_caches_at
from scripts.redis_server import RedisServer, RedisServerError
from tests.support import service_missing


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
