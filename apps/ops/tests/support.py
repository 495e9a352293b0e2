"""Helpers for the ops tests: the long-WDO fund, its cached pages, pointing the caches at a
private Redis (or a black hole), and the journal damage an attacker with database rights does.

The fixtures that use them (`fund`, `alice`, `read_cache`, `redis_server`, ...) are in
conftest.py next to this module.
"""

from __future__ import annotations

import socket
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from asgiref.local import Local
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pytest_django import Settings

from apps.core.local_cache import local
from apps.core.models import DataVersion, RefreshRequest
from apps.marketdata.models import Instrument, SettlementPrice
from apps.marketdata.services import override_price
from apps.ops.metrics import forget as forget_metrics_state
from apps.ops.models import PipelineRun
from apps.ops.pipelines import Outcome
from apps.positions.models import Trade
from apps.positions.services import TradeTicket
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, create_proposal
from pms_project.caches import redis_caches
from tests.support import Book, BookAt

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

# WDOH25 settlements of 3 to 6 Feb 2025 (business days).
WDO_CLOSES = (
    (date(2025, 2, 3), "5539.36"),
    (date(2025, 2, 4), "5575.65"),
    (date(2025, 2, 5), "5560.00"),
    (date(2025, 2, 6), "5570.00"),
)
D1, D2, D3, D4 = (day for day, _ in WDO_CLOSES)
# The cached pages' fund (the `fund` fixture) lives on the morning of D4: marked through D3.
MORNING = datetime(2025, 2, 6, 8, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
PAGES = ("book", "risk", "attribution", "morning")
REDIS_SOCKET_TIMEOUT = 0.25  # settings.py's REDIS_SOCKET_TIMEOUT default


def long_wdo(book_at: BookAt, through: date) -> Book:
    """A fund long 10 WDOH25 bought at 5,529.50 on 3 Feb 2025, with the settlements, CDI and
    PTAX of every business day from 3 Feb through `through` (nothing marked yet)."""
    first = WDO_CLOSES[0][0]
    book = book_at(first, "WDOH25")
    for day, close in WDO_CLOSES:
        if day <= through:
            book.market_day("WDOH25", day, close)
    book.trade("WDOH25", "BUY", "10", first, price="5529.50")
    return book


def another_fund(first: Book, code: str, *, ticker: str = "WDOH25", qty: str = "4") -> Book:
    """A fund beside `first` (same market, same manager), short `qty` of `ticker` since its
    inception on 3 Feb 2025; `ticker` must exist (priced or not)."""
    from apps.positions.tests.factories import PortfolioFactory, StrategyFactory

    portfolio = PortfolioFactory.create(code=code, inception_date=D1)
    strategy = StrategyFactory.create(portfolio=portfolio, code="fx", name="FX")
    book = Book(portfolio, strategy, first.user)
    book.trade(ticker, "SELL", qty, D1, price="5529.50")
    return book


def run_of(outcome: Outcome) -> PipelineRun:
    """The run an outcome reports (every outcome but "not-business-day" has one)."""
    assert outcome.run is not None
    return outcome.run


# --- the cached pages -------------------------------------------------------------------------


def get(client: Client, page: str, fund: Book, query: str = "") -> Response:
    """One of the four cached pages of `fund`, which must answer 200."""
    url = {"book": "/book/", "risk": "/risk/", "attribution": "/attribution/"}.get(
        page, "/morning/"
    )
    response = client.get(f"{url}?portfolio={fund.portfolio.code}{query}")
    assert response.status_code == 200, (page, response.status_code)
    return response


def statuses(client: Client, fund: Book) -> dict[str, str]:
    """page → X-Cache (miss, hit, bypass) of each cached page, read once."""
    return {page: get(client, page, fund)["X-Cache"] for page in PAGES}


def remark_trade(fund: Book, qty: str) -> Trade:
    """A trade on the last marked day through the service the trade page calls."""
    from apps.positions.corrections import record_and_remark

    ticket = TradeTicket(
        portfolio=fund.portfolio,
        strategy=fund.strategy,
        instrument=Instrument.objects.get(ticker="WDOH25"),
        side="BUY",
        quantity=Decimal(qty),
        trade_date=D3,
        price=Decimal("5560.00"),
    )
    return record_and_remark(ticket, by=fund.user)


def republish_settlement(by: User) -> SettlementPrice:
    """The back office overrides WDOH25's D3 settlement with 5,600.00 (a market write)."""
    return override_price(
        Instrument.objects.get(ticker="WDOH25"),
        D3,
        price=Decimal("5600.00"),
        reason="B3 republished the settlement.",
        by=by,
    )


def propose_two_more(fund: Book, day: date, by: User) -> Proposal:
    """A pending proposal of `day` to buy 2 more WDOH25."""
    return create_proposal(
        portfolio=fund.portfolio,
        strategy=fund.strategy,
        instrument=Instrument.objects.get(ticker="WDOH25"),
        terms=Terms("BUY", Decimal("2")),
        rationale="Add on the dip.",
        business_date=day,
        by=by,
    )


def forget() -> None:
    """Empty the test's read-model cache (on Redis only its prefix: never a FLUSHDB)."""
    local.clear()
    backend = caches["readmodels"]
    if hasattr(backend, "delete_pattern"):
        backend.delete_pattern("*")
    else:
        backend.clear()


def versions() -> dict[str, int]:
    """scope → data version."""
    return dict(DataVersion.objects.values_list("scope", "version"))


def pending() -> dict[str, int]:
    """scope → writes of each refresh request not yet claimed (the outbox)."""
    return dict(RefreshRequest.objects.values_list("scope", "writes"))


# --- Redis: private, or a black hole -----------------------------------------------------------


def point_caches_at(settings: Settings, url: str, timeout: float = 0.1) -> None:
    """Both cache aliases (as settings.py builds them with REDIS_URL) on `url`, fresh clients;
    `timeout` is the socket timeout (settings.py's REDIS_SOCKET_TIMEOUT is 0.25 s)."""
    for backend in caches.all(initialized_only=True):
        backend.close()  # no client of the old configuration survives
    settings.REDIS_URL = url
    settings.READ_MODEL_CACHE = "readmodels"
    settings.CACHES = redis_caches(url, prefix="pms-t", timeout=timeout)
    # Django's setting_changed handler rebuilds the handler too; be explicit about it.
    caches.settings = caches.configure_settings(settings.CACHES)
    caches._settings = caches.settings  # type: ignore[attr-defined]  # its private cache
    caches._connections = Local()  # type: ignore[attr-defined]


def point_caches_at_port(settings: Settings, port: int) -> None:
    """Both aliases on 127.0.0.1:`port` with settings.py's socket timeout."""
    point_caches_at(settings, f"redis://127.0.0.1:{port}/0", timeout=REDIS_SOCKET_TIMEOUT)
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True


class BlackHole:
    """A port that accepts connections (the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._stop.wait, daemon=True)  # never reads
        self.thread.start()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


# --- the journal --------------------------------------------------------------------------------


def delete_last_entries(count: int) -> None:
    """What an attacker with database rights does: the append-only guard switched off, the
    last `count` journal entries deleted."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "DELETE FROM journal_entry WHERE seq > (SELECT max(seq) FROM journal_entry) - %s",
            [count],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


# --- /metrics -----------------------------------------------------------------------------------


def scrape(client: Client, **headers: str) -> str:
    """The text of /metrics, the state recomputed now (not the one kept from an earlier test)."""
    forget_metrics_state()
    response = client.get("/metrics", **headers)  # type: ignore[arg-type]
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels` (the only one), or None."""
    found = [
        s.value
        for s in samples(text)
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, f"{name}{labels}: {len(found)} samples"
    return found[0] if found else None
