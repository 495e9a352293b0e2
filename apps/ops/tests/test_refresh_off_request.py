"""The write-through refresh runs off the request path (issue 15 §4).

A write asks for its scope's refresh in its own transaction (an outbox row) and a Celery task
rebuilds the read models after commit: eagerly in the embedded default (no broker), where a
market write rebuilds no fund's read models in the writer's request; through the broker
otherwise, where a burst of writes queues one task, a dead or hung broker never fails nor
holds a committed write, and the beat sweep runs what was never queued. A save of fields no
read model shows bumps nothing.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from apps.core import cache as read_cache_module
from apps.core.models import RefreshRequest
from apps.ops import warming
from apps.ops.tests.support import (
    D3,
    PAGES,
    BlackHole,
    get,
    pending,
    propose_two_more,
    remark_trade,
    republish_settlement,
    statuses,
    versions,
)
from scripts.redis_server import RedisServer
from tests.support import Book

# `fund`, `alice` and `broker` are conftest.py's: marked, risked, the pack out, an isolated
# cache; `broker` points the Celery app at a broker for a test.


def details(client: Client, fund: Book) -> dict[str, str]:
    return {page: get(client, page, fund)["X-Cache-Detail"] for page in PAGES}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- eager (the embedded default) -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_market_write_rebuilds_no_fund_in_the_request(
    fund: Book, alice: Client, bo_carol: Any, settings: Any, monkeypatch: Any
) -> None:
    """A price override invalidates every fund; the request that made it rebuilds none of
    their read models (each fund's next read rebuilds its own); a worker rebuilds them all."""
    settings.CACHE_WRITE_THROUGH = True
    statuses(alice, fund)
    warmed: list[Any] = []
    real_warm = warming.warm

    def spy(portfolio: Any) -> Any:
        warmed.append(portfolio)
        return real_warm(portfolio)

    monkeypatch.setattr(warming, "warm", spy)
    republish_settlement(bo_carol)
    assert warmed == [] and pending() == {}  # claimed by the eager task, not rebuilt
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")

    # On a worker (or the sweep) the market refresh rebuilds every active fund.
    RefreshRequest.objects.create(scope="market")
    assert warming.refresh_scope("market") == [fund.portfolio.code]
    assert warmed == [fund.portfolio]
    assert warming.refresh_scope("market") == []  # claimed once: a duplicate does nothing


# --- through a broker ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_writes_queues_one_task(
    fund: Book, broker: Callable[[str], None], redis_server: RedisServer, settings: Any
) -> None:
    import redis

    settings.CACHE_WRITE_THROUGH = True
    broker(redis_server.url)
    for qty in ("1", "2", "3"):  # three requests, three transactions
        remark_trade(fund, qty)
    queue = redis.Redis.from_url(redis_server.url)
    assert queue.llen("celery") == 1  # one refresh task for the fund, not three
    scope = f"portfolio:{fund.portfolio.pk}"
    assert list(pending()) == [scope] and pending()[scope] >= 3  # every write, one request
    # The worker runs it: the request is claimed, the read models rebuilt.
    assert warming.refresh_scope(scope) == [fund.portfolio.code]
    assert pending() == {}


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_neither_fails_nor_holds_a_write_and_the_sweep_refreshes(
    fund: Book, alice: Client, broker: Callable[[str], None], settings: Any, caplog: Any
) -> None:
    settings.CACHE_WRITE_THROUGH = True
    statuses(alice, fund)
    broker(f"redis://127.0.0.1:{closed_port()}/0")
    started = time.perf_counter()
    remark_trade(fund, "5")  # commits; the publish fails, is logged and swallowed
    assert time.perf_counter() - started < 5  # the remark itself; the publish gives up at once
    assert "not queued (broker unavailable)" in caplog.text
    scope = f"portfolio:{fund.portfolio.pk}"
    assert scope in pending()  # the outbox row survived the lost publish

    assert warming.sweep() == []  # too young: its task may still be on its way
    assert warming.sweep(grace=timedelta(0)) == [scope]
    assert pending() == {}
    assert details(alice, fund) == dict.fromkeys(PAGES, "page=miss; data=hit")
    assert get(alice, "book", fund).content.decode().count(">15<") == 1


def test_a_hung_broker_costs_a_publish_one_timeout_then_nothing(
    broker: Callable[[str], None], caplog: Any
) -> None:
    """A broker that accepts connections and never answers: the first publish gives up after
    REFRESH_PUBLISH_TIMEOUT, then the publisher's breaker skips the broker (the sweep runs
    the refreshes)."""
    hole = BlackHole()
    try:
        broker(f"redis://127.0.0.1:{hole.port}/0")
        started = time.perf_counter()
        read_cache_module.publish_refresh("portfolio:1")
        first = time.perf_counter() - started
        started = time.perf_counter()
        read_cache_module.publish_refresh("portfolio:1")
        second = time.perf_counter() - started
    finally:
        hole.close()
    assert first < 4 * django_settings.REFRESH_PUBLISH_TIMEOUT, first
    assert second < 0.01, second
    assert read_cache_module.publisher_breaker.is_open
    assert "not queued (broker unavailable)" in caplog.text


def test_the_sweep_is_on_the_beat_schedule() -> None:
    tasks = {e["task"]: e["schedule"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["cache.sweep_refreshes"] <= timedelta(minutes=1)


# --- a save that changes nothing a read model shows bumps nothing ------------------------------


@pytest.mark.django_db
def test_a_position_plan_bumps_nothing_a_quantity_does(book_at: Any, pm_alice: Any) -> None:
    from apps.positions.services import update_position_plan

    book = book_at(D3, "WDOH25")
    trade = book.trade("WDOH25", "BUY", "10", D3, price="5529.50")
    position = trade.position
    before = versions()
    update_position_plan(
        position, by=pm_alice, thesis="BRL weakens.", stop=Decimal("5400"), target=None
    )
    assert versions() == before  # the plan is on the position page only (not cached)
    position.quantity = Decimal("11")
    position.save(update_fields=["quantity", "updated_at"])
    assert (
        versions()[f"portfolio:{book.portfolio.pk}"] == before[f"portfolio:{book.portfolio.pk}"] + 1
    )


@pytest.mark.django_db
def test_a_journal_anchor_or_a_what_if_bumps_nothing(book_at: Any, pm_alice: Any) -> None:
    from apps.ops.models import PipelineRun

    book = book_at(D3, "WDOH25")
    run = PipelineRun.objects.create(
        pipeline="eod", business_date=D3, portfolio=book.portfolio, started_at=timezone.now()
    )
    proposal = propose_two_more(book, D3, by=pm_alice)
    before = versions()
    run.journal_seq, run.journal_hash = 7, "ab" * 32
    run.save(update_fields=["journal_seq", "journal_hash"])
    proposal.what_if = {"after": {}}
    proposal.save(update_fields=["what_if", "updated_at"])
    assert versions() == before
    run.status = PipelineRun.Status.FAILED
    run.save(update_fields=["status"])  # the banner shows it
    assert versions()["pipelines"] == before.get("pipelines", 1) + 1
