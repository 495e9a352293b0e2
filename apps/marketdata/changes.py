"""Official market data written for a day: count the change (what a snapshot computed before
it is stale against) and tell the book, which queues the re-mark of funds already marked.

Called inside the writing transaction, by the signal receivers (one price, one fixing) and by
the bulk importers (which fire no signals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date

from apps.core.staleness import PRICES, prices_changed, record_change
from apps.marketdata.calendar import next_business_day
from apps.marketdata.models import FixingIndex

# A day's CDI first moves the next business day's marks (the carry and the interest on cash
# of day t use the CDI of t−1); every other fixing moves the marks of its own date.
NEXT_DAY_FIXINGS = frozenset({FixingIndex.CDI})
# The fixings the MTM reads (the CDI carry and interest, the PTAX, the VNAs, the DAP's IPCA
# pro rata); the others (Selic, PTAX compra) move no mark, only the snapshots that show them.
MARKED_FIXINGS = frozenset(
    {
        FixingIndex.CDI,
        FixingIndex.PTAX_SELL,
        FixingIndex.VNA_NTNB,
        FixingIndex.VNA_LFT,
        FixingIndex.IPCA_INDEX,
        FixingIndex.IPCA_MONTHLY,
        FixingIndex.IPCA_PROJECTION,
    }
)


def fixing_moves(index: str, day: date) -> date:
    """The first date whose marks a fixing of `index` on `day` moves."""
    return next_business_day(day) if index in NEXT_DAY_FIXINGS else day


def note_prices(
    changes: Mapping[date, Collection[int] | None], *, reason: str, moves_marks: bool = True
) -> None:
    """Prices written for days: day → instrument ids (None: a fixing, every instrument).
    `moves_marks` False: a fixing the MTM does not read (no fund is re-marked)."""
    if not changes:
        return
    version = record_change(PRICES, changes)
    prices_changed.send(
        sender=note_prices,
        changes=dict(changes),
        reason=reason,
        version=version,
        moves_marks=moves_marks,
    )


def by_day(rows: Iterable[tuple[int, date]]) -> dict[date, set[int] | None]:
    """(instrument id, day) pairs of written prices as `note_prices` takes them."""
    changes: dict[date, set[int]] = defaultdict(set)
    for instrument_id, day in rows:
        changes[day].add(instrument_id)
    return dict(changes)
