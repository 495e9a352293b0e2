"""Cache benchmarks: the four cached pages (book, risk, attribution, morning pack) at the
500-position scale, through `django.test.Client` logged in as a manager.

For each page: the first GET with an empty cache (miss: the read model is built and the page
rendered), then GETs served from the cache (hit: target p50 ≤ 3 ms server time, ≤ 3 SQL
queries; server time is the response's `Server-Timing`, measured around the whole middleware
stack, and the round trip through the test client is reported beside it), and,
when the bench runs with REDIS_URL, the time a dead Redis adds per request once the circuit
breaker is open (target ≤ 1 ms): a throw-away redis-server is started, warmed, killed, and
the pages timed against a baseline without any cache. Without Redis that figure is n/a.

The data come from the other modules' builders (scripts/bench/positions.py, risk.py,
attribution.py, briefings.py): run alone (`--only cache`) it builds them first. The read-model
cache gets its own key prefix, so the bench never shares entries with a server on the same
Redis.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.bench import BenchOp, Scale, report, reported
from scripts.redis_server import RedisServer

HIT_TARGET_MS = 3.0
HIT_QUERY_TARGET = 3
DEAD_TARGET_MS = 1.0
HITS = 50
DEAD_ROUNDS = 20
KEY_PREFIX = "pms-bench"
PAGES = ("book", "risk", "attribution", "morning")

_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class PageState:
    page: str
    client: Any
    url: str
    label: str


# --- data and clients -----------------------------------------------------------------------


def _url(page: str, scale: Scale) -> tuple[str, str]:
    """The page's URL on the bench data (built by the other modules' setups) and a label."""
    if page == "book":
        from scripts.bench.positions import _setup_book

        book = _setup_book(scale, history=True)
        return f"/book/?portfolio={book.portfolio.code}", book.label
    if page == "risk":
        from scripts.bench.risk import _setup_page

        risk = _setup_page(scale)
        return risk.url, risk.label
    if page == "attribution":
        from scripts.bench.attribution import _setup

        attribution = _setup(scale)
        return f"/attribution/?portfolio={attribution.portfolio.code}", attribution.label
    from django.conf import settings

    from apps.briefings.models import MorningPack
    from apps.briefings.services import generate_morning_pack
    from scripts.bench.briefings import _setup as _setup_morning

    morning = _setup_morning(scale)
    if not MorningPack.objects.filter(portfolio=morning.portfolio, business_date=morning.day):
        settings.ANTHROPIC_API_KEY, settings.MORNING_PACK_EMAIL = "", False
        generate_morning_pack(morning.portfolio, morning.day)
    return f"/morning/?portfolio={morning.portfolio.code}", morning.label


def _client() -> Any:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    user, created = User.objects.get_or_create(username="bench-pm", defaults={"first_name": "PM"})
    if created:
        user.groups.add(Group.objects.get(name="manager"))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def _isolate_cache() -> None:
    """The bench's own key prefix on both aliases (never a server's entries)."""
    if "isolated" in _STATE:
        return
    from django.conf import settings
    from django.test.utils import override_settings

    caches = {alias: {**conf, "KEY_PREFIX": KEY_PREFIX} for alias, conf in settings.CACHES.items()}
    override_settings(CACHES=caches).enable()
    _STATE["isolated"] = True


def _state(page: str, scale: Scale) -> PageState:
    key = f"{page}:{scale.name}"
    if key not in _STATE:
        _isolate_cache()
        url, label = _url(page, scale)
        _STATE[key] = PageState(page, _client(), url, label)
    state: PageState = _STATE[key]
    return state


def _forget() -> None:
    """Empty the bench's read-model entries (only its prefix on Redis)."""
    from django.conf import settings
    from django.core.cache import caches

    backend = caches[settings.READ_MODEL_CACHE]
    if hasattr(backend, "delete_pattern"):
        backend.delete_pattern("rm:*")
    else:
        backend.clear()


def _get(state: PageState) -> Any:
    response = state.client.get(state.url)
    assert response.status_code == 200, (state.url, response.status_code)
    return response


def _queries(state: PageState) -> tuple[Any, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = _get(state)
    return response, len(queries.captured_queries)


# --- miss and hit ---------------------------------------------------------------------------


def _setup_miss(page: str) -> Callable[[Scale], PageState]:
    def setup(scale: Scale) -> PageState:
        state = _state(page, scale)
        _forget()
        return state

    return setup


def _run_miss(state: PageState) -> None:
    response, count = _queries(state)
    assert response["X-Cache"] == "miss", response["X-Cache-Detail"]
    size = len(response.content) // 1024
    report(f"miss {state.page}", f"[{state.label}, {size} kB of HTML, {count} SQL queries]")


def _setup_hit(page: str) -> Callable[[Scale], PageState]:
    def setup(scale: Scale) -> PageState:
        state = _state(page, scale)
        if f"warm {page}" not in _STATE:
            _get(state)
            _STATE[f"warm {page}"] = True
        return state

    return setup


def _run_hit(state: PageState) -> float:
    """The server time of a hit (ms, from Server-Timing)."""
    response = _get(state)
    assert response["X-Cache"] == "hit", response["X-Cache-Detail"]
    if not reported(f"hit {state.page}"):
        response, count = _queries(state)
        flag = "" if count <= HIT_QUERY_TARGET else f" > {HIT_QUERY_TARGET}: TARGET MISSED"
        report(f"hit {state.page}", f"[{response['X-Cache-Detail']}, {count} SQL queries{flag}]")
    return server_ms(response)


def server_ms(response: Any) -> float:
    """`Server-Timing: app;dur=2.31` → 2.31."""
    return float(response["Server-Timing"].split("dur=")[1])


def _run_round_trip(state: PageState) -> None:
    assert _get(state)["X-Cache"] == "hit"


# --- a dead Redis ---------------------------------------------------------------------------


def _caches_on(port: int | None) -> dict[str, Any]:
    """CACHES as settings.py builds them for a Redis on `port`; None: no cache at all (sessions
    from the database, read models built every time: what a dead Redis leaves)."""
    from django.conf import settings

    if port is None:
        return {
            "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
            "readmodels": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        }
    from pms_project.caches import redis_caches

    url = f"redis://127.0.0.1:{port}/0"
    return redis_caches(url, prefix=KEY_PREFIX, timeout=settings.REDIS_SOCKET_TIMEOUT)


def _timed_ms(state: PageState, caches: Any) -> float:
    """One GET of the page with `caches` (an enabled override_settings) in force."""
    caches.enable()
    try:
        started = time.perf_counter()
        _get(state)
        return (time.perf_counter() - started) * 1000
    finally:
        caches.disable()


def _setup_dead(scale: Scale) -> list[PageState]:
    return [_state(page, scale) for page in PAGES]


def _run_dead(states: list[PageState]) -> None:
    """Dead Redis (breaker open) and no cache at all, request by request in turn: the median
    of the differences is what the dead Redis adds (the pages are rebuilt either way)."""
    import logging

    from django.conf import settings
    from django.test.utils import override_settings

    from apps.core.cache import breaker

    if not settings.REDIS_URL:
        report("dead", "[n/a on locmem: run the bench with REDIS_URL]")
        return
    logging.disable(logging.CRITICAL)  # every failed call logs; the figure is the point
    workdir = Path(tempfile.mkdtemp(prefix="pms-bench-redis-"))
    server = RedisServer(workdir)
    dead = override_settings(CACHES=_caches_on(server.port), READ_MODEL_CACHE="readmodels")
    none = override_settings(CACHES=_caches_on(None), READ_MODEL_CACHE="readmodels")
    try:
        breaker.failures = 0
        for state in states:
            _timed_ms(state, dead)  # warm through the live Redis
        server.kill()
        for state in states:
            _timed_ms(state, dead)  # the failures that open the breaker
        assert breaker.is_open
        added, dead_ms, none_ms = [], [], []
        for round_ in range(DEAD_ROUNDS):
            for state in states:
                # Alternate which goes first, so warm-up and GC favour neither.
                if round_ % 2:
                    none_ms.append(_timed_ms(state, none))
                    dead_ms.append(_timed_ms(state, dead))
                else:
                    dead_ms.append(_timed_ms(state, dead))
                    none_ms.append(_timed_ms(state, none))
                added.append(dead_ms[-1] - none_ms[-1])
        calls_us = _dead_calls_us(dead)
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        breaker.failures = 0
        logging.disable(logging.INFO)
    extra = statistics.median(added)
    flag = "" if extra <= DEAD_TARGET_MS else f" > {DEAD_TARGET_MS:g} ms: TARGET MISSED"
    report(
        "dead",
        f"[median request: dead Redis {statistics.median(dead_ms):.1f} ms, no cache "
        f"{statistics.median(none_ms):.1f} ms; added {extra:+.2f} ms per request{flag} "
        f"(within the builds' noise); a request's cache calls with the breaker open: "
        f"{calls_us:.0f} µs in all]",
    )


def _dead_calls_us(dead: Any) -> float:
    """Microseconds of the cache calls a request makes with the breaker open: a session read
    and write (default alias), the page-HTML and read-model reads and writes (read models)."""
    from django.core.cache import caches

    from apps.core.cache import cache_get, cache_set

    rounds = 1000
    dead.enable()
    try:
        session = caches["default"]
        started = time.perf_counter()
        for _ in range(rounds):
            session.get("probe")
            session.set("probe", 1, 60)
            for _ in range(2):
                cache_get("probe")
                cache_set("probe", 1, 60)
        return (time.perf_counter() - started) / rounds * 1e6
    finally:
        dead.disable()


OPERATIONS = [
    *(
        BenchOp(
            f"cached {page} page, miss (read model built, page rendered)",
            target_ms=None,
            setup=_setup_miss(page),
            run=_run_miss,
            repeats=3,
        )
        for page in PAGES
    ),
    *(
        BenchOp(
            f"cached {page} page, hit, server time (p50 of {HITS})",
            target_ms=HIT_TARGET_MS,
            setup=_setup_hit(page),
            run=_run_hit,
            repeats=HITS,
        )
        for page in PAGES
    ),
    *(
        BenchOp(
            f"cached {page} page, hit, round trip through the test client (p50 of {HITS})",
            target_ms=None,
            setup=_setup_hit(page),
            run=_run_round_trip,
            repeats=HITS,
        )
        for page in PAGES
    ),
    BenchOp(
        f"4 cached pages, Redis killed, breaker open ({DEAD_ROUNDS} rounds, added ms printed)",
        target_ms=None,
        setup=_setup_dead,
        run=_run_dead,
        repeats=1,
    ),
]
