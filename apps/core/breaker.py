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

log = logging.getLogger("apps.core.cache")
T = TypeVar("T")


class CircuitBreaker:
    """Opens after `threshold` failures in a row; stays open `cooldown` seconds."""

    def __init__(self, threshold: int = 3, cooldown: float = 30.0) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self.failures, self.opened_at = 0, 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold and time.monotonic() - self.opened_at < self.cooldown

    def success(self) -> None:
        with self._lock:
            self.failures = 0

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.opened_at = time.monotonic()


breaker = CircuitBreaker(
    threshold=getattr(settings, "CACHE_BREAKER_THRESHOLD", 3),
    cooldown=getattr(settings, "CACHE_BREAKER_COOLDOWN", 30.0),
)
stats = {"hit": 0, "miss": 0, "bypass": 0, "error": 0}


def guarded(operation: Callable[[], T], fallback: T) -> T:
    if breaker.is_open:
        return fallback
    try:
        result = operation()
    except Exception as error:  # redis errors, timeouts, anything: the page must not break
        stats["error"] += 1
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
