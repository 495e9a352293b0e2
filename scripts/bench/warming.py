"""Write-through refresh benchmark: a price override's request time with 50 active portfolios
against one (issue 15 §4: ≤ 1.2×).

A price override invalidates every portfolio's read models. Its request (the admin's manual
price page, POSTed through `django.test.Client` as a superuser) must not rebuild them: it bumps
the market version and asks for a refresh in its transaction, and a Celery task rebuilds them
after commit. Measured side by side, request by request in turn (so warm-up favours neither):
- eager (no broker, the embedded default and a bench without CELERY_BROKER_URL): the task
  runs in the request, and rebuilds no fund after a market write;
- with a broker (a throw-away redis-server, no worker: the publish is what the request pays);
and the worker's side: what the market refresh of the 50 funds costs, off the request path.

The 50 funds are small (a strategy each): the figure is the request's, not the rebuild's. Only
the bench's funds are active while it measures; the others' flags are restored afterwards.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from scripts.bench import BenchOp, Scale, report

FUNDS = 50
ROUNDS = 15
RATIO_TARGET = 1.2
TICKER = "BNCHOVR"
_STATES: dict[str, Any] = {}


@dataclass(frozen=True)
class OverrideState:
    client: Any
    form: dict[str, str]
    funds: list[int]  # primary keys; the first is the "one fund" case


def _setup(scale: Scale) -> OverrideState:
    if "state" in _STATES:
        state: OverrideState = _STATES["state"]
        return state
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from apps.marketdata.calendar import previous_business_day
    from apps.marketdata.models import Instrument
    from scripts.bench.positions import _portfolio

    day = previous_business_day(timezone.localdate())
    instrument, _ = Instrument.objects.get_or_create(
        ticker=TICKER,
        defaults={"name": "Bench override", "kind": "EQUITY", "asset_class": "EQUITY"},
    )
    funds = [_portfolio(f"ovr{i:02d}", day - timedelta(days=30), 1)[0].pk for i in range(FUNDS)]
    user, _ = User.objects.get_or_create(
        username="bench-bo", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    form = {
        "instrument": str(instrument.pk),
        "date": day.isoformat(),
        "price": "10.00",
        "rate_pct": "",
        "reason": "Bench: the exchange republished the settlement.",
    }
    _STATES["state"] = OverrideState(client, form, funds)
    return _STATES["state"]


@contextmanager
def _active(funds: list[int]) -> Iterator[None]:
    """Only `funds` active (queryset updates: no signal, no version bump); restored after."""
    from apps.positions.models import Portfolio

    was = list(Portfolio.objects.filter(active=True).values_list("pk", flat=True))
    Portfolio.objects.exclude(pk__in=funds).update(active=False)
    Portfolio.objects.filter(pk__in=funds).update(active=True)
    try:
        yield
    finally:
        Portfolio.objects.update(active=False)
        Portfolio.objects.filter(pk__in=was).update(active=True)


def _override_ms(state: OverrideState, n: int) -> float:
    """One override request's server time (ms, Server-Timing) with `n` funds active."""
    from scripts.bench.cache import server_ms

    form = {**state.form, "price": f"{10 + n / 100 + time.perf_counter() % 1:.2f}"}
    with _active(state.funds[:n]):
        response = state.client.post("/admin/marketdata/settlementprice/add/", form)
    assert response.status_code == 302, response.content[:2000]
    return server_ms(response)


def _side_by_side(state: OverrideState) -> tuple[float, float]:
    """Median server time with one fund and with all of them, alternating."""
    one: list[float] = []
    many: list[float] = []
    for round_ in range(ROUNDS):
        for n in (1, FUNDS) if round_ % 2 else (FUNDS, 1):
            (one if n == 1 else many).append(_override_ms(state, n))
    return statistics.median(one), statistics.median(many)


@contextmanager
def _broker() -> Iterator[str]:
    """A throw-away redis-server as the Celery broker (no worker consumes it)."""
    from celery import current_app

    from apps.core import cache
    from scripts.redis_server import RedisServer

    workdir = Path(tempfile.mkdtemp(prefix="pms-bench-broker-"))
    server = RedisServer(workdir)
    conf = current_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, server.url
    try:
        yield server.url
    finally:
        conf.task_always_eager, conf.broker_url = saved
        cache._drop_broker_connection()
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _worker_ms(state: OverrideState) -> float:
    """The market refresh of every fund, as the worker runs it (off the request path)."""
    from apps.core.models import RefreshRequest
    from apps.ops.warming import refresh_scope

    with _active(state.funds):
        RefreshRequest.objects.get_or_create(scope="market")
        started = time.perf_counter()
        warmed = refresh_scope("market")
        elapsed = (time.perf_counter() - started) * 1000
    assert len(warmed) == FUNDS, warmed
    return elapsed


def _verdict(one: float, many: float) -> str:
    ratio = many / one
    flag = "" if ratio <= RATIO_TARGET else f" > {RATIO_TARGET}: TARGET MISSED"
    return f"1 fund {one:.1f} ms, {FUNDS} funds {many:.1f} ms, ratio {ratio:.2f}{flag}"


def _run(state: OverrideState) -> float:
    from django.conf import settings

    settings.CACHE_WRITE_THROUGH = True
    _override_ms(state, 1)  # the first request pays the admin's imports and templates
    one, many = _side_by_side(state)
    with _broker():
        _override_ms(state, 1)
        broker_one, broker_many = _side_by_side(state)
    worker = _worker_ms(state)
    report(
        "override",
        f"[eager (no broker): {_verdict(one, many)}; with a broker: "
        f"{_verdict(broker_one, broker_many)}; the worker's market refresh of {FUNDS} funds: "
        f"{worker:.0f} ms]",
    )
    return many


OPERATIONS = [
    BenchOp(
        f"price override request, {FUNDS} funds vs one (median of {ROUNDS}, ratio printed)",
        target_ms=None,
        setup=_setup,
        run=_run,
        repeats=1,
    ),
]
