"""Cache benchmarks: the four cached pages (book, risk, attribution, morning pack) at the
500-position scale, through `django.test.Client` logged in as a manager.

For each page: the first GET with an empty cache (miss: the read model is built and the page
rendered; the book's target ≤ 150 ms), then GETs served from the cache (hit: target p50
≤ 3 ms server time, ≤ 4 SQL queries, each named: session, user, roles, data versions; server
time is the response's `Server-Timing`, measured around the whole middleware stack, and the
round trip through the test client is reported beside it), and,
when the bench runs with REDIS_URL, the time a dead Redis adds per request once the circuit
breaker is open (target ≤ 1 ms): a throw-away redis-server is started, warmed, killed, and
the pages timed against a baseline without any cache. Without Redis that figure is n/a.

Last, the throughput of the cached book under `wrk -c8 -d15s` against a gunicorn (2 workers ×
4 threads) on a private redis-server, healthy and then with that Redis killed, side by side in
one run: the per-process layer (apps.core.local_cache) must keep ≥ 50 % of the healthy figure.

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
BOOK_MISS_TARGET_MS = 150.0  # 500 positions
HIT_QUERY_TARGET = 4
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

    from apps.positions.models import FundAccess

    user, created = User.objects.get_or_create(username="bench-pm", defaults={"first_name": "PM"})
    if created:
        user.groups.add(Group.objects.get(name="manager"))
    # Every fund, as the manager of a one-fund house is granted (positions.FundAccess).
    FundAccess.objects.get_or_create(user=user, all_funds=True, defaults={"note": "Bench."})
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

    from apps.core.local_cache import local

    local.clear()  # this process's layer in front of Redis
    backend = caches[settings.READ_MODEL_CACHE]
    if hasattr(backend, "delete_pattern"):
        backend.delete_pattern("rm:*")
    else:
        backend.clear()


def _get(state: PageState) -> Any:
    response = state.client.get(state.url)
    assert response.status_code == 200, (state.url, response.status_code)
    return response


def _queries(state: PageState) -> tuple[Any, list[str]]:
    """The response and the short name of each SQL query it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = _get(state)
    return response, [query_name(q["sql"]) for q in queries.captured_queries]


# The tables a cached hit may read, by the short name the bench prints (first match wins).
QUERY_NAMES = (
    ("django_session", "session"),
    ("auth_user_groups", "roles"),
    ("auth_user", "user"),
    ("ops_dataversion", "data versions"),
)


def query_name(sql: str) -> str:
    """`SELECT … FROM "django_session" …` → "session"; anything else: its first table."""
    for table, name in QUERY_NAMES:
        if table in sql:
            return name
    words = sql.replace('"', "").split()
    after = [w for i, w in enumerate(words[1:]) if words[i].upper() in ("FROM", "INTO", "UPDATE")]
    return f"other ({after[0] if after else sql[:40]})"


# --- miss and hit ---------------------------------------------------------------------------


def _setup_miss(page: str) -> Callable[[Scale], PageState]:
    def setup(scale: Scale) -> PageState:
        state = _state(page, scale)
        _forget()
        return state

    return setup


def _run_miss(state: PageState) -> None:
    response, names = _queries(state)
    assert response["X-Cache"] == "miss", response["X-Cache-Detail"]
    size = len(response.content) // 1024
    report(f"miss {state.page}", f"[{state.label}, {size} kB of HTML, {len(names)} SQL queries]")


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
        response, names = _queries(state)
        count = len(names)
        flag = "" if count <= HIT_QUERY_TARGET else f" > {HIT_QUERY_TARGET}: TARGET MISSED"
        report(
            f"hit {state.page}",
            f"[{response['X-Cache-Detail']}, {count} SQL queries{flag}: {', '.join(names)}]",
        )
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


# --- throughput, Redis alive then killed ------------------------------------------------------

WRK_SECONDS = 15
WRK_CONNECTIONS = 8
THROUGHPUT_TARGET = 0.5  # dead-Redis requests/s at least half the healthy figure


@dataclass(frozen=True)
class Served:
    """A gunicorn serving the bench database on a private Redis, and a logged-in session."""

    url: str
    cookie: str
    server: Any
    redis: RedisServer
    workdir: Path


def _setup_throughput(scale: Scale) -> Served:
    """The book's bench data, a session for the bench manager, a private redis-server and a
    gunicorn (2 workers × 4 threads, as a small production host) on both."""
    import os
    import socket
    import subprocess
    import sys

    from django.conf import settings

    state = _state("book", scale)
    cookie = f"{settings.SESSION_COOKIE_NAME}={_session_key()}"
    workdir = Path(tempfile.mkdtemp(prefix="pms-bench-wrk-"))
    redis = RedisServer(workdir)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "LOG_LEVEL": "WARNING",
        "SECURE_COOKIES": "false",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "--access-logfile",
        "/dev/null",
    ]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    served = Served(f"http://127.0.0.1:{port}{state.url}", cookie, server, redis, workdir)
    deadline = time.monotonic() + 30
    while _fetch(served) is None:
        if server.poll() is not None or time.monotonic() > deadline:
            _stop(served)
            raise RuntimeError("gunicorn did not start")
        time.sleep(0.2)
    return served


def _session_key() -> str:
    """A database session for the bench manager, as a login leaves it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.get(username="bench-pm")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


def _fetch(served: Served) -> str | None:
    """One GET: its X-Cache header (None: no 200 answer)."""
    from urllib.request import Request, urlopen

    request = Request(served.url, headers={"Cookie": served.cookie})
    try:
        with urlopen(request, timeout=10) as response:
            response.read()
            return str(response.headers.get("X-Cache")) if response.status == 200 else None
    except OSError:
        return None


def _load(served: Served) -> tuple[float, int]:
    """Requests per second and non-2xx answers over WRK_SECONDS with WRK_CONNECTIONS
    connections: `wrk` when installed, else as many keep-alive Python clients in threads."""
    import shutil as tools

    return _wrk(served) if tools.which("wrk") else _python_load(served)


def _wrk(served: Served) -> tuple[float, int]:
    import re
    import subprocess

    command = ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{WRK_SECONDS}s"]
    command += ["-H", f"Cookie: {served.cookie}", served.url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (float(rate.group(1)) if rate else 0.0), int(errors.group(1)) if errors else 0


def _python_load(served: Served) -> tuple[float, int]:
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(served.url)
    path = f"{parts.path}?{parts.query}"
    done, failed = [0] * WRK_CONNECTIONS, [0] * WRK_CONNECTIONS
    stop = time.monotonic() + WRK_SECONDS

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", path, headers={"Cookie": served.cookie})
            response = conn.getresponse()
            response.read()
            done[i] += 1
            failed[i] += response.status != 200
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(WRK_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / WRK_SECONDS, sum(failed)


def _stop(served: Served) -> None:
    served.server.terminate()
    try:
        served.server.wait(timeout=20)
    except Exception:
        served.server.kill()
    served.redis.kill()
    shutil.rmtree(served.workdir, ignore_errors=True)


def _run_throughput(served: Served) -> None:
    """Healthy, then with the private Redis killed, side by side in one run."""
    import shutil as tools

    tool = "wrk" if tools.which("wrk") else "Python clients (no wrk)"
    try:
        warm = [_fetch(served) for _ in range(40)]  # every worker's layer, and Redis
        healthy, healthy_errors = _load(served)
        served.redis.kill()
        for _ in range(20):  # every worker's breaker opens on its first failures
            _fetch(served)
        after = _fetch(served)
        dead, dead_errors = _load(served)
    finally:
        _stop(served)
    ratio = dead / healthy if healthy else 0.0
    flag = "" if ratio >= THROUGHPUT_TARGET else f" < {THROUGHPUT_TARGET:.0%}: TARGET MISSED"
    report(
        "throughput",
        f"[book, {tool} -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s, gunicorn 2×4: healthy "
        f"{healthy:.0f} req/s, Redis killed {dead:.0f} req/s, ratio {ratio:.0%}{flag}; "
        f"X-Cache warm {warm[-1]}, dead {after}; non-2xx {healthy_errors}/{dead_errors}]",
    )


OPERATIONS = [
    *(
        BenchOp(
            f"cached {page} page, miss (read model built, page rendered)",
            target_ms=BOOK_MISS_TARGET_MS if page == "book" else None,
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
    BenchOp(
        f"cached book page throughput, Redis healthy then killed (wrk {WRK_SECONDS} s each)",
        target_ms=None,
        setup=_setup_throughput,
        run=_run_throughput,
        repeats=1,
    ),
]
