"""The ops tests' own Redis: `redis_server` starts a private `redis-server` on a free port
(never the shared one, see scripts/redis_server.py), so a test can point the caches at it and
kill it to see what a dead Redis does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.local import Local
from django.core.cache import caches

from conftest import service_missing
from pms_project.caches import redis_caches
from scripts.redis_server import RedisServer, RedisServerError


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
    from apps.ops.cache import breaker

    point_caches_at(settings, redis_server.url)
    redis_server.kill()
    yield redis_server
    breaker.success()  # a per-process breaker opened here must not leak into other tests
