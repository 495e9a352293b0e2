"""Helpers for the ops tests: the long-WDO fund and pointing the caches at a private Redis."""

from __future__ import annotations

from datetime import date
from typing import Any

from asgiref.local import Local
from django.core.cache import caches

from apps.ops.models import PipelineRun
from apps.ops.pipelines import Outcome
from pms_project.caches import redis_caches
from tests.support import Book, BookAt

# WDOH25 settlements of 3 to 6 Feb 2025 (business days).
WDO_CLOSES = (
    (date(2025, 2, 3), "5539.36"),
    (date(2025, 2, 4), "5575.65"),
    (date(2025, 2, 5), "5560.00"),
    (date(2025, 2, 6), "5570.00"),
)


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


def point_caches_at(settings: Any, url: str, timeout: float = 0.1) -> None:
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


def run_of(outcome: Outcome) -> PipelineRun:
    """The run an outcome reports (every outcome but "not-business-day" has one)."""
    assert outcome.run is not None
    return outcome.run
