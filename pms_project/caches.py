"""The CACHES setting for a Redis URL, shared by settings.py, the tests and the bench."""

from __future__ import annotations

from typing import Any

from pms_project.release import fingerprint


def redis_caches(url: str, *, prefix: str, timeout: float) -> dict[str, Any]:
    """Two aliases on one Redis.

    `default` (sessions, cached_db, the rest) sits behind the per-process circuit breaker, so a
    dead or hung Redis costs no wait once the breaker is open; IGNORE_EXCEPTIONS covers the
    calls the breaker does not wrap. `readmodels` is plain django-redis: apps.core.cache guards
    every call itself with the same breaker and must tell a miss from an error. Its key version
    is the release fingerprint (pms_project/release.py): entries the previous release wrote
    (pickled read models, HTML of its templates) are never read by the next one.
    """
    options = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": timeout,
        "SOCKET_TIMEOUT": timeout,
    }
    return {
        "default": {
            "BACKEND": "apps.core.breaker.BreakerRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True},
        },
        "readmodels": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
            "VERSION": fingerprint(),
            "OPTIONS": options,
        },
    }
