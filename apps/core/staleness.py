"""Nothing silently stale: what a computed snapshot was computed on (its basis), and what has
changed since.

A snapshot (a risk report, a what-if, compliance checks, a morning pack, an attribution)
captures its `Basis` before it reads its inputs: the change counters of its fund's book, of
the official prices and of the intraday prices. A write of an input records a `Change` (scope,
day, version) in its own transaction (`record_change`). The snapshot is stale when a change
with a greater version touches a day it covers; `staleness` says which and when, for the page
("book changed at 10:42, after this snapshot") and the API (`stale`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Max, Q
from django.dispatch import Signal
from django.utils import timezone

from apps.core.cache import INTRADAY as CACHE_INTRADAY
from apps.core.cache import increment
from apps.core.models import Change, DataVersion

PRICES = "prices"  # settlement prices and fixings, by the first date whose marks they move
# intraday prices, by their business date: also part of every cached page's and read model's
# key (`apps.core.cache.key_for`, `apps.core.page_cache.page_key`)
INTRADAY = CACHE_INTRADAY
LABELS = {"book": "book", PRICES: "prices", INTRADAY: "intraday prices"}


def book_scope(portfolio_id: int) -> str:
    """Trades and capital flows of one fund, by trade or flow date."""
    return f"book:{portfolio_id}"


def record_change(scope: str, days: Iterable[date]) -> int | None:
    """Count a change of `scope`'s inputs on `days` (inside the writing transaction); the
    version it was given, or None when there was no day."""
    wanted = sorted(set(days))
    if not wanted:
        return None
    increment(scope)
    # Our increment holds the row until commit: this read sees our own value.
    version = DataVersion.objects.values_list("version", flat=True).get(scope=scope)
    now = timezone.now()
    Change.objects.bulk_create(
        [Change(scope=scope, day=day, version=version, changed_at=now) for day in wanted],
        update_conflicts=True,
        unique_fields=["scope", "day"],
        update_fields=["version", "changed_at"],
    )
    return version


@dataclass(frozen=True)
class Basis:
    """The change counters a snapshot was computed on (0: before any change was counted)."""

    book: int = 0
    prices: int = 0
    intraday: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"book": self.book, "prices": self.prices, "intraday": self.intraday}

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> Basis:
        raw = raw or {}
        return cls(*(int(raw.get(name) or 0) for name in ("book", "prices", "intraday")))


def basis_now(portfolio_id: int) -> Basis:
    """The counters as they stand (read before the inputs, so a later write shows as a change)."""
    scopes = [book_scope(portfolio_id), PRICES, INTRADAY]
    found = dict(DataVersion.objects.filter(scope__in=scopes).values_list("scope", "version"))
    return Basis(*(found.get(scope, 0) for scope in scopes))


@dataclass(frozen=True)
class Staleness:
    """What changed after a snapshot: (what, when) pairs, most recent per kind."""

    changes: tuple[tuple[str, datetime], ...] = ()

    @property
    def stale(self) -> bool:
        return bool(self.changes)

    @property
    def since(self) -> datetime | None:
        return max((at for _, at in self.changes), default=None)

    def sentence(self) -> str:
        """ "book changed at 10:42 and prices at 10:50, after this snapshot" (empty when fresh)."""
        if not self.changes:
            return ""
        parts = [f"{LABELS[what]} at {_when(at)}" for what, at in self.changes]
        head, *rest = parts
        head = head.replace(" at ", " changed at ", 1)
        return " and ".join([head, *rest]) + ", after this snapshot"

    def as_dict(self) -> dict[str, Any]:
        return {
            "stale": self.stale,
            "stale_reason": self.sentence(),
            "changed": {what: at.isoformat() for what, at in self.changes},
        }


FRESH = Staleness()

# Sent by market data when official prices or fixings were written for days (a mapping of
# day → instrument ids, None for every instrument), inside the writing transaction: the
# book below queues the re-mark of the funds already marked on those days.
prices_changed = Signal()


def _when(at: datetime) -> str:
    local = timezone.localtime(at)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{local:%d/%m %H:%M}"


def staleness(
    portfolio_id: int,
    basis: Basis,
    *,
    through: date | None,
    book_through: date | None = None,
    intraday: bool = False,
) -> Staleness:
    """What changed after `basis`: the fund's book (up to `book_through`, every day when None),
    official prices moving marks up to `through` (every day when None) and, for a snapshot
    that read them, intraday prices."""
    book = Q(scope=book_scope(portfolio_id), version__gt=basis.book)
    if book_through is not None:
        book &= Q(day__lte=book_through)
    prices = Q(scope=PRICES, version__gt=basis.prices)
    if through is not None:
        prices &= Q(day__lte=through)
    wanted = book | prices
    if intraday:
        wanted |= Q(scope=INTRADAY, version__gt=basis.intraday)
    rows = Change.objects.filter(wanted).values("scope").annotate(at=Max("changed_at"))
    found = {
        ("book" if row["scope"].startswith("book:") else row["scope"]): row["at"] for row in rows
    }
    order = ("book", PRICES, INTRADAY)
    return Staleness(tuple((what, found[what]) for what in order if what in found))
