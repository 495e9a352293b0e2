"""Caching of the heavy read models: versioned keys, write-through refresh, breaker-guarded.

A key carries the data versions it depends on (the portfolio's and the market's), read from
PostgreSQL. A write bumps the version in its own transaction and, in the same transaction,
asks for a refresh (a row of the outbox, one per scope); after commit a Celery task rebuilds
the read models, off the request path; a rollback bumps and asks nothing. A refill computed
before an invalidation lands under the old version, which nobody reads again. Redis being
slow or down never breaks a page: every call is guarded by the per-process circuit breaker
(apps.core.breaker), so a dead Redis costs no network wait per request. In front of Redis, a
per-process LRU (apps.core.local_cache) holds the recent `rm:` values: read first, so a hit
costs no round trip and a dead Redis nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from celery import current_app
from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.breaker import CircuitBreaker, breaker, guarded
from apps.core.local_cache import holds, local
from apps.core.models import DataVersion, RefreshRequest
from apps.core.telemetry import count_lookup

__all__ = ["MISSING", "TTL", "Cached", "breaker", "bump", "bump_pipelines", "bump_user"]
__all__ += ["cache_available"]
__all__ += ["cache_get"]
__all__ += ["cache_get_many", "cache_set", "key_for", "read", "versions"]
__all__ += ["increment", "publish_refresh", "publish_task", "schedule_refresh", "shows_change"]
__all__ += ["firm_warmer", "warm", "warm_firm", "warmer", "without_refresh"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MISSING = object()

# Seconds each read model may live even without an invalidation (a safety net only).
TTL = {"book": 30, "intraday": 30, "risk": 60, "attribution": 300, "morning": 24 * 3600}
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


PIPELINES_SCOPE = "pipelines"  # the failed-run banner every page's frame shows
INTRADAY = "intraday"  # the intraday prices' change counter (`apps.core.staleness`)


def scope_of(portfolio_id: int | None) -> str:
    return "market" if portfolio_id is None else f"portfolio:{portfolio_id}"


def versions(portfolio_id: int | None) -> tuple[int, int]:
    """(market version, portfolio version) in one query."""
    wanted = ["market", scope_of(portfolio_id)]
    found = dict(DataVersion.objects.filter(scope__in=wanted).values_list("scope", "version"))
    return found.get("market", 0), found.get(scope_of(portfolio_id), 0)


def bump(portfolio_id: int | None = None, *, refresh: bool = True) -> None:
    """Invalidate a portfolio's read models (None: the market, i.e. every portfolio's).

    Call inside the writing transaction; the refresh is scheduled with it (`schedule_refresh`)
    and runs in a Celery task after commit. Bulk writers (MTM, imports) pass `refresh=False`:
    they run in the EOD pipeline, whose last step warms the caches once everything is
    recomputed, and a refresh after each of them would rebuild every read model mid-pipeline;
    outside the pipeline the next read rebuilds (a miss, never a stale value)."""
    scope = scope_of(portfolio_id)
    increment(scope)
    if not refresh or _quiet.get() or not getattr(settings, "CACHE_WRITE_THROUGH", True):
        return
    schedule_refresh(scope)


def bump_pipelines() -> None:
    """A pipeline run changed: the failed-run banner's cached runs are stale. No
    read model depends on it, so there is nothing to refresh."""
    increment(PIPELINES_SCOPE)


def bump_user(user_id: int) -> None:
    """A user's groups changed: the role names their session keeps are stale
    (`core.user_facts`). No read model depends on it."""
    increment(f"user:{user_id}")


def increment(scope: str) -> None:
    """Add one to `scope`'s counter (inside the writing transaction, which holds its row)."""
    now = timezone.now()
    updated = DataVersion.objects.filter(scope=scope).update(
        version=F("version") + 1, changed_at=now
    )
    if not updated:
        DataVersion.objects.get_or_create(scope=scope, defaults={"version": 2, "changed_at": now})


def shows_change(update_fields: Iterable[str] | None, unshown: Iterable[str]) -> bool:
    """False when a save wrote only fields no read model shows (for receivers: a save with
    `update_fields` limited to `unshown` bumps nothing; a full save may have changed anything).
    """
    return update_fields is None or not set(update_fields) <= set(unshown)


_quiet: ContextVar[bool] = ContextVar("pms_cache_without_refresh", default=False)


@contextmanager
def without_refresh() -> Iterator[None]:
    """Bumps inside the block (signals included) schedule no refresh: for bulk writers, which
    also save a few rows through the ORM (the MTM's NAV record)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


# --- the refresh, scheduled on commit -----------------------------------------------------

REFRESH_TASK = "cache.refresh_read_models"  # apps.ops.tasks; looked up by name, not imported


def schedule_refresh(scope: str) -> None:
    """Ask, in the writing transaction, for `scope`'s read models to be rebuilt after commit.

    The request is a row of the outbox (`RefreshRequest`), one per scope: only the write that
    creates it publishes the task, on commit; later writes (in this transaction or others)
    find it pending and only update it. That UPDATE holds the row until their commit, and the
    task deletes the row before it rebuilds, so a task never rebuilds before a write it
    covers is committed. A rolled-back write (or savepoint) takes its row and its publication
    with it. A task that never runs leaves the row to the sweep (`apps.ops.warming.sweep`)."""
    for _ in range(2):  # a concurrent first write may win the insert: then join its request
        if RefreshRequest.objects.filter(scope=scope).update(writes=F("writes") + 1):
            return
        try:
            with transaction.atomic():
                RefreshRequest.objects.create(scope=scope)
        except IntegrityError:
            continue
        transaction.on_commit(partial(publish_refresh, scope), robust=True)
        return


publisher_breaker = CircuitBreaker(threshold=1, cooldown=30.0, name="broker")


def publish_refresh(scope: str) -> None:
    """Queue the refresh task of `scope` (after commit): `publish_task`."""
    publish_task(REFRESH_TASK, (scope,), what=f"refresh of {scope}")


def publish_task(name: str, args: tuple[Any, ...], *, what: str) -> None:
    """Queue the task `name` (after commit) for work an outbox row already records. Never
    raises and never waits longer than `REFRESH_PUBLISH_TIMEOUT`: with the broker down the
    committed write stands, the outbox row stays, and its sweep runs it. Eager (no broker):
    the task runs here."""
    if current_app.conf.task_always_eager:
        try:
            # What apply_async does eagerly, without acquiring a broker producer first.
            current_app.tasks[name].apply(args)
        except Exception:  # the outbox row stays: the sweep (or the next write) runs it
            log.exception("%s failed", what)
        return
    if publisher_breaker.is_open:
        return  # the broker failed a moment ago: the sweep runs it
    try:
        task = current_app.tasks[name]
        task.apply_async(args, connection=_broker_connection(), retry=False)
    except Exception:
        publisher_breaker.failure()
        _drop_broker_connection()
        log.warning("%s not queued (broker unavailable): the sweep runs it", what)
    else:
        publisher_breaker.success()


_publishing = threading.local()


def _broker_connection() -> Any:
    """This thread's connection for publishing, with short timeouts (not the workers')."""
    url = current_app.conf.broker_write_url or current_app.conf.broker_url
    held = getattr(_publishing, "held", None)
    if held is None or held[0] != url:
        timeout = getattr(settings, "REFRESH_PUBLISH_TIMEOUT", 0.25)
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
        connection = current_app.connection_for_write(
            url, connect_timeout=timeout, transport_options=options
        )
        _publishing.held = held = (url, connection)
    return held[1]


def _drop_broker_connection() -> None:
    held = getattr(_publishing, "held", None)
    _publishing.held = None
    if held is not None:
        try:
            held[1].release()
        except Exception:  # already broken: nothing to close cleanly
            log.debug("closing the broken publishing connection failed", exc_info=True)


# --- cached reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cached:
    value: Any
    status: str  # "hit", "miss" or "bypass"


def key_for(name: str, portfolio_id: int | None, params: str = "") -> str:
    """rm:<name>:<portfolio>:m<market v>:p<portfolio v>:i<intraday v>:<params>: the intraday
    prices' counter too, since a read model may show an intraday estimate or say it is stale
    against them (`apps.core.staleness`)."""
    wanted = ["market", scope_of(portfolio_id), INTRADAY]
    found = dict(DataVersion.objects.filter(scope__in=wanted).values_list("scope", "version"))
    market, own, intraday = (found.get(scope, 0) for scope in wanted)
    return f"rm:{name}:{portfolio_id}:m{market}:p{own}:i{intraday}:{params}"


def read(
    name: str,
    portfolio_id: int | None,
    build: Callable[[], T],
    *,
    params: str = "",
    bypass: bool = False,
) -> Cached:
    """The read model from the cache, or built and stored; `bypass` for historical reads."""
    model = name.split(":")[0]
    if bypass:
        count_lookup("data", model, "bypass")
        return Cached(build(), "bypass")
    key = key_for(name, portfolio_id, params)
    value = cache_get(key)
    if value is not MISSING:
        count_lookup("data", model, "hit")
        return Cached(value, "hit")
    count_lookup("data", model, "miss")
    value = build()
    cache_set(key, value, TTL.get(model, 60))
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


FIRM_WARMERS: dict[str, Callable[[list[Any]], None]] = {}


def firm_warmer(name: str) -> Callable[[Callable[[list[Any]], None]], Callable[[list[Any]], None]]:
    """Register how to warm a read model that spans funds (the firm view), given the funds
    whose pipeline succeeded: the pipelines' firm step calls it after every fund is done."""

    def register(fn: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        FIRM_WARMERS[name] = fn
        return fn

    return register


def warm_firm(portfolios: list[Any]) -> list[str]:
    """Build every registered firm-level read model over `portfolios` into the cache."""
    done = []
    for name, fn in FIRM_WARMERS.items():
        fn(portfolios)
        done.append(name)
    return done
