"""The ops tests' own Redis: `RedisServer` starts a private `redis-server` on a free port (never
the shared one), so a test can point the caches at it and kill it to see what a dead Redis does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.local import Local
from django.core.cache import caches

from conftest import service_missing
from pms_project.caches import redis_caches


class RedisServer:
    """A throw-away redis-server on 127.0.0.1:<free port>; `kill()` stops only this process."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server is not installed (apt-get install redis-server)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                service_missing(f"could not start redis-server on port {self.port}")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def point_caches_at(settings: Any, url: str) -> None:
    """Both cache aliases (as settings.py builds them with REDIS_URL) on `url`, fresh clients."""
    for backend in caches.all(initialized_only=True):
        backend.close()  # no client of the old configuration survives
    settings.REDIS_URL = url
    settings.READ_MODEL_CACHE = "readmodels"
    settings.CACHES = redis_caches(url, prefix="pms-t", timeout=0.1)
    # Django's setting_changed handler rebuilds the handler too; be explicit about it.
    caches._settings = caches.settings = caches.configure_settings(settings.CACHES)
    caches._connections = Local()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
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
