"""The per-process circuit breaker in front of Redis, and the cache backend it guards.

Every cache call goes through `guarded`: an error (refused, timed out) counts as a failure and
the caller gets its fallback; after `threshold` failures in a row the breaker opens and calls
skip Redis for `cooldown` seconds, so a dead or hung Redis costs no network wait per request.
Both aliases share the one breaker (they talk to the same Redis): the read models through
apps.core.cache, everything else (sessions, cached_db) through `BreakerRedisCache`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django_redis.cache import RedisCache

from apps.core.telemetry import BREAKER_OPEN, BREAKER_OPENINGS, CACHE_ERRORS

log = logging.getLogger("apps.core.cache")
T = TypeVar("T")


class CircuitBreaker:
    """Opens after `threshold` failures in a row; stays open `cooldown` seconds. Its state is
    the gauge `pms_circuit_breaker_open{breaker=name}` of this process."""

    def __init__(self, threshold: int = 3, cooldown: float = 30.0, *, name: str = "redis") -> None:
        self.threshold, self.cooldown, self.name = threshold, cooldown, name
        self.failures, self.opened_at = 0, 0.0
        self._lock = threading.Lock()
        self._shown = False
        BREAKER_OPEN.labels(name).set(0)

    @property
    def is_open(self) -> bool:
        return self._state()

    def _state(self) -> bool:
        open_now = (
            self.failures >= self.threshold and time.monotonic() - self.opened_at < self.cooldown
        )
        if open_now != self._shown:  # the gauge follows every change, closing by time included
            self._shown = open_now
            BREAKER_OPEN.labels(self.name).set(1 if open_now else 0)
        return open_now

    def success(self) -> None:
        with self._lock:
            self.failures = 0
        if self._shown:  # reset by hand (tests, a drill) while it showed open
            self._state()

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            opened = self.failures >= self.threshold
            if opened:  # a call let through (closed, or after the cooldown) failed: (re)open
                self.opened_at = time.monotonic()
        if opened:
            BREAKER_OPENINGS.labels(self.name).inc()
        self._state()


breaker = CircuitBreaker(
    threshold=getattr(settings, "CACHE_BREAKER_THRESHOLD", 3),
    cooldown=getattr(settings, "CACHE_BREAKER_COOLDOWN", 30.0),
)


def guarded(operation: Callable[[], T], fallback: T) -> T:
    if breaker.is_open:
        return fallback
    try:
        result = operation()
    except Exception as error:  # redis errors, timeouts, anything: the page must not break
        CACHE_ERRORS.inc()
        breaker.failure()
        log.warning("cache unavailable (%s); serving uncached", type(error).__name__)
        return fallback
    breaker.success()
    return result


class BreakerRedisCache(RedisCache):
    """django-redis behind the breaker, for the calls a request makes (sessions and the like):
    a failing call is a miss or a no-op and is logged once per failure; once the breaker is
    open no call reaches the network. These methods call the client directly, so the breaker
    sees the errors; IGNORE_EXCEPTIONS still covers the rest (incr, keys, locks…)."""

    def get(self, key: Any, default: Any = None, version: Any = None, client: Any = None) -> Any:
        return guarded(lambda: self.client.get(key, default, version, client), default)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.set(*args, **kwargs), False)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.add(*args, **kwargs), False)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.delete(*args, **kwargs), False)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.touch(*args, **kwargs), False)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.has_key(*args, **kwargs), False)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.get_many(*args, **kwargs), {})

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        unset = list(args[0]) if args else list(kwargs.get("data", {}))
        return guarded(lambda: self.client.set_many(*args, **kwargs), unset)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return guarded(lambda: self.client.delete_many(*args, **kwargs), 0)
