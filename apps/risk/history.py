"""The factor history shared by every fund's risk of a day.

Building it reads a year of every instrument's settlements (seconds on a firm's market), and
it depends on market data only. The pipelines' market step builds it once per day and stores
it in PostgreSQL (`StoredFactorHistory`) under the market's data version; every fund's risk,
what-if and page then load it while that version stands (a price, fixing or instrument
written since bumps the version: they build their own, never a stale one). A small
per-process memo keeps the last few loaded (keyed by the row's id and build time, which no
other row ever shares), so a worker running many funds' EODs reads the row once.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from datetime import date, datetime

import numpy as np

from apps.core.cache import versions
from apps.risk.factors import HISTORY_DAYS, FactorHistory, build_history
from apps.risk.models import StoredFactorHistory

MEMO_SIZE = 4  # histories kept per process: today's, yesterday's and a what-if's
Key = tuple[int, datetime]  # a stored row's id and build time
_memo: OrderedDict[Key, FactorHistory] = OrderedDict()
_lock = threading.Lock()


def market_version() -> int:
    return versions(None)[0]


def is_shared(asof: date, days: int = HISTORY_DAYS) -> bool:
    """True when the history of `asof` is stored and current (readers will not build it)."""
    return StoredFactorHistory.objects.filter(
        asof=asof, days=days, market_version=market_version()
    ).exists()


def shared_history(asof: date, days: int = HISTORY_DAYS) -> FactorHistory:
    """The history of `asof`: the stored one while the market has not changed since it was
    built, else built here (and not stored: only the market step stores)."""
    current = StoredFactorHistory.objects.filter(
        asof=asof, days=days, market_version=market_version()
    )
    key = current.values_list("pk", "built_at").first()  # not the arrays: the memo may hold them
    if key is None:
        return build_history(asof, days)
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    row = current.filter(pk=key[0]).first()
    if row is None:  # replaced between the two reads: build rather than wait
        return build_history(asof, days)
    history = _load(row)
    _remember((row.pk, row.built_at), history)
    return history


def store_history(asof: date, days: int = HISTORY_DAYS) -> tuple[FactorHistory, bool]:
    """Build and store the history of `asof` for every fund (the market step); False when the
    stored one is still current (nothing built). The version is read before building: a
    market write during the build leaves the row stale, never wrongly current."""
    version = market_version()
    row = StoredFactorHistory.objects.filter(asof=asof, days=days, market_version=version).first()
    if row is not None:
        history = _load(row)
        _remember((row.pk, row.built_at), history)
        return history, False
    started = time.perf_counter()
    history = build_history(asof, days)
    seconds = time.perf_counter() - started
    names = sorted(history.linear)
    buffer = io.BytesIO()
    arrays = {"di": history.di, "dap": history.dap}
    arrays |= {f"linear{i}": history.linear[name] for i, name in enumerate(names)}
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    fields = {
        "market_version": version,
        "dates": [d.isoformat() for d in history.dates],
        "factors": names,
        "warnings": history.warnings,
        "gaps": [[d.isoformat(), tickers] for d, tickers in history.gaps],
        "arrays": buffer.getvalue(),
        "seconds": round(seconds, 3),
    }
    # One statement that inserts or replaces: two market steps at once never collide.
    row = StoredFactorHistory(asof=asof, days=days, **fields)
    StoredFactorHistory.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["asof", "days"],
        update_fields=[*fields, "built_at"],
    )
    _freeze(history)
    if row.pk is not None:  # the database returned the id (PostgreSQL, SQLite ≥ 3.35)
        _remember((row.pk, row.built_at), history)
    return history, True


def _load(row: StoredFactorHistory) -> FactorHistory:
    with np.load(io.BytesIO(bytes(row.arrays)), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    history = FactorHistory(
        dates=[date.fromisoformat(d) for d in row.dates],
        di=arrays["di"],
        dap=arrays["dap"],
        linear={name: arrays[f"linear{i}"] for i, name in enumerate(row.factors)},
        warnings=list(row.warnings),
        gaps=[(date.fromisoformat(d), list(tickers)) for d, tickers in row.gaps],
    )
    _freeze(history)
    return history


def _freeze(history: FactorHistory) -> None:
    """Read-only arrays: one copy serves every fund this process runs."""
    for array in (history.di, history.dap, *history.linear.values()):
        array.flags.writeable = False


def _remember(key: Key, history: FactorHistory) -> None:
    with _lock:
        _memo[key] = history
        _memo.move_to_end(key)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)


def forget() -> None:
    """Empty this process's memo (tests)."""
    with _lock:
        _memo.clear()
