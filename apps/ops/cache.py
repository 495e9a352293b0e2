"""Caching of the heavy read models: versioned keys, write-through refresh, breaker-guarded.

A key carries the data versions it depends on (the portfolio's and the market's), read from
PostgreSQL. A write bumps the version in its own transaction and refreshes the cache after
commit; a rollback bumps nothing. A refill computed before an invalidation lands under the
old version, which nobody reads again. Redis being slow or down never breaks a page: every
call is guarded by the per-process circuit breaker (apps.ops.breaker), so a dead Redis costs
no network wait per request. In front of Redis, a per-process LRU (apps.ops.local_cache) holds
the recent `rm:` values: read first, so a hit costs no round trip and a dead Redis nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F

from apps.ops.breaker import breaker, guarded, stats
from apps.ops.local_cache import holds, local
from apps.ops.models import DataVersion

__all__ = ["MISSING", "TTL", "Cached", "breaker", "bump", "bump_pipelines", "cache_available"]
__all__ += ["cache_get"]
__all__ += ["cache_get_many", "cache_set", "key_for", "read", "refresh", "stats", "versions"]
__all__ += ["warm", "warmer", "without_refresh"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MISSING = object()

# Seconds each read model may live even without an invalidation (a safety net only).
TTL = {"book": 30, "risk": 60, "attribution": 300, "morning": 24 * 3600}
TTL_LOCAL = 30  # a value fetched from Redis (its remaining TTL is unknown): the shortest one


def _backend() -> Any:
    return caches[getattr(settings, "READ_MODEL_CACHE", "default")]


def cache_get(key: str) -> Any:
    """The value under `key`: from this process's layer first (read models), else Redis."""
    if holds(key):
        value = local.get(key, MISSING)
        if value is not MISSING:
            return value
    value = guarded(lambda: _backend().get(key, MISSING), MISSING)
    if value is not MISSING and holds(key):
        local.set(key, value, TTL_LOCAL)
    return value


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """The keys found, this process's layer first, the rest in one round trip (nothing when
    the cache is down)."""
    found = {key: local.get(key, MISSING) for key in keys if holds(key)}
    found = {key: value for key, value in found.items() if value is not MISSING}
    wanted = [key for key in keys if key not in found]
    if wanted:
        fetched: dict[str, Any] = guarded(lambda: _backend().get_many(wanted), {})
        for key, value in fetched.items():
            if holds(key):
                local.set(key, value, TTL_LOCAL)
        found.update(fetched)
    return found


def cache_set(key: str, value: Any, ttl: int) -> None:
    if holds(key):
        local.set(key, value, ttl)
    guarded(lambda: _backend().set(key, value, ttl), None)


def cache_available() -> bool:
    """True when the read-model cache keeps a value (a round trip; False with the breaker open:
    every write would be dropped, so nothing can be warmed)."""

    def round_trip() -> bool:
        backend = _backend()
        backend.set("probe:available", 1, 5)
        return bool(backend.get("probe:available") == 1)

    return guarded(round_trip, False)


# --- versions -------------------------------------------------------------------------------


PIPELINES_SCOPE = "pipelines"  # the failed-run banner every page's shell shows


def scope_of(portfolio_id: int | None) -> str:
    return "market" if portfolio_id is None else f"portfolio:{portfolio_id}"


def versions(portfolio_id: int | None) -> tuple[int, int]:
    """(market version, portfolio version) in one query."""
    wanted = ["market", scope_of(portfolio_id)]
    found = dict(DataVersion.objects.filter(scope__in=wanted).values_list("scope", "version"))
    return found.get("market", 0), found.get(scope_of(portfolio_id), 0)


def bump(portfolio_id: int | None = None, *, refresh: bool = True) -> None:
    """Invalidate a portfolio's read models (None: the market, i.e. every portfolio's).

    Call inside the writing transaction; the write-through refresh runs after commit. Bulk
    writers (MTM, imports) pass `refresh=False`: they run in the EOD pipeline, whose last step
    warms the caches once everything is recomputed, and a refresh after each of them would
    rebuild every read model mid-pipeline, in the writer's time; outside the pipeline the next
    read rebuilds (a miss, never a stale value)."""
    _increment(scope_of(portfolio_id))
    if not refresh or _quiet.get() or not getattr(settings, "CACHE_WRITE_THROUGH", True):
        return
    if not _refresh_pending(portfolio_id):
        transaction.on_commit(_Refresh(portfolio_id))


def bump_pipelines() -> None:
    """A pipeline run changed: the cached page shells (their failure banner) are stale. No
    read model depends on it, so there is nothing to refresh."""
    _increment(PIPELINES_SCOPE)


def _increment(scope: str) -> None:
    updated = DataVersion.objects.filter(scope=scope).update(version=F("version") + 1)
    if not updated:
        DataVersion.objects.get_or_create(scope=scope, defaults={"version": 2})


_quiet: ContextVar[bool] = ContextVar("pms_cache_without_refresh", default=False)


@contextmanager
def without_refresh() -> Iterator[None]:
    """Bumps inside the block (signals included) schedule no write-through refresh: for bulk
    writers, which also save a few rows through the ORM (the MTM's NAV record)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


@dataclass(frozen=True)
class _Refresh:
    """The after-commit refresh of one scope; equal ones are scheduled once per transaction."""

    portfolio_id: int | None

    def __call__(self) -> None:
        refresh(self.portfolio_id)


def _refresh_pending(portfolio_id: int | None) -> bool:
    """True when this transaction already refreshes the scope (or the market, i.e. all) after
    commit. A rolled-back savepoint drops its callbacks, so nothing is skipped wrongly."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    wanted = {_Refresh(portfolio_id), _Refresh(None)}
    return any(callback in wanted for _, callback, _ in connection.run_on_commit)


def refresh(portfolio_id: int | None) -> None:
    """Recompute the current read models after a committed write (best effort)."""
    from apps.positions.models import Portfolio

    portfolios = Portfolio.objects.active()
    if portfolio_id is not None:
        portfolios = portfolios.filter(pk=portfolio_id)
    for portfolio in portfolios:
        try:
            warm(portfolio)
        except Exception:  # a refresh is an optimisation; the next read recomputes
            log.exception("write-through refresh of %s failed", portfolio)


# --- cached reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cached:
    value: Any
    status: str  # "hit", "miss" or "bypass"


def key_for(name: str, portfolio_id: int | None, params: str = "") -> str:
    market, own = versions(portfolio_id)
    return f"rm:{name}:{portfolio_id}:m{market}:p{own}:{params}"


def read(
    name: str,
    portfolio_id: int | None,
    build: Callable[[], T],
    *,
    params: str = "",
    bypass: bool = False,
) -> Cached:
    """The read model from the cache, or built and stored; `bypass` for historical reads."""
    if bypass:
        stats["bypass"] += 1
        return Cached(build(), "bypass")
    key = key_for(name, portfolio_id, params)
    value = cache_get(key)
    if value is not MISSING:
        stats["hit"] += 1
        return Cached(value, "hit")
    stats["miss"] += 1
    value = build()
    cache_set(key, value, TTL.get(name.split(":")[0], 60))
    return Cached(value, "miss")


WARMERS: dict[str, Callable[[Any], None]] = {}


def warmer(name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Register how to warm a read model for a portfolio (each app registers its own)."""

    def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        WARMERS[name] = fn
        return fn

    return register


def warm(portfolio: Any) -> list[str]:
    """Build every registered read model of `portfolio` into the cache."""
    done = []
    for name, fn in WARMERS.items():
        fn(portfolio)
        done.append(name)
    return done
