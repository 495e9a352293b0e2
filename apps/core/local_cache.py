"""The per-process layer in front of Redis: a bounded LRU of recent read models and page bodies.

It holds only the versioned read-model keys (`rm:…`, which carry the data versions they were
built from), so it can never serve stale data: a write bumps a version and the next read asks
for another key. Bounded in entries and in bytes (LOCAL_CACHE_ENTRIES, LOCAL_CACHE_BYTES; 0
entries turns it off); each entry also keeps its TTL, as Redis would. Values are stored as
given when immutable (scalars, tuples and frozen dataclasses of them), else pickled, so a
caller can never mutate a cached value. With Redis dead, a process keeps serving what it
last saw: no network, no breaker, no rebuild.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

PREFIX = "rm:"
_SCALARS = (str, bytes, int, float, bool, type(None), Decimal, date)  # datetime is a date


def immutable(value: Any) -> bool:
    """Nothing a caller could change: scalars, and tuples and frozen dataclasses of them (a
    page's body, the funds' directory, the banner's runs are kept as they are, not pickled)."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, tuple):
        return all(immutable(item) for item in value)
    params = getattr(type(value), "__dataclass_params__", None)
    if params is not None and params.frozen:
        return all(immutable(getattr(value, f.name)) for f in fields(value))
    return False


class LocalCache:
    """A thread-safe LRU bounded by entry count and total size (bytes of the stored forms)."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self.size = 0
        self._data: OrderedDict[str, tuple[float, int, bool, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, default: Any) -> Any:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return default
            expires, _, pickled, stored = found
            if expires < time.monotonic():
                self._drop(key)
                return default
            self._data.move_to_end(key)
        return pickle.loads(stored) if pickled else stored

    def set(self, key: str, value: Any, ttl: float) -> None:
        if self.entries <= 0:
            return
        pickled = not immutable(value)
        stored = pickle.dumps(value, pickle.HIGHEST_PROTOCOL) if pickled else value
        size = _size(stored)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._data:
                self._drop(key)
            self._data[key] = (time.monotonic() + ttl, size, pickled, stored)
            self.size += size
            while len(self._data) > self.entries or self.size > self.max_bytes:
                self._drop(next(iter(self._data)))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._data)

    def _drop(self, key: str) -> None:
        _, size, _, _ = self._data.pop(key)
        self.size -= size


def _size(stored: Any) -> int:
    """Bytes, roughly: a string's length; a tuple's or dataclass's strings and 64 per item."""
    if isinstance(stored, str | bytes):
        return len(stored)
    if isinstance(stored, tuple):
        return 64 + sum(_size(item) for item in stored)
    if hasattr(type(stored), "__dataclass_fields__"):
        return 64 + sum(_size(getattr(stored, f.name)) for f in fields(stored))
    return 64


def _configured() -> LocalCache:
    return LocalCache(
        getattr(settings, "LOCAL_CACHE_ENTRIES", 256),
        getattr(settings, "LOCAL_CACHE_BYTES", 64 * 1024 * 1024),
    )


local = _configured()


def holds(key: str) -> bool:
    """Only the versioned read-model keys go through the local layer."""
    return key.startswith(PREFIX)


@receiver(setting_changed, dispatch_uid="local_cache_settings")
def _reconfigure(setting: str, **kwargs: Any) -> None:
    """Another cache (tests, the bench) or other bounds: start empty."""
    if setting in ("CACHES", "READ_MODEL_CACHE", "LOCAL_CACHE_ENTRIES", "LOCAL_CACHE_BYTES"):
        local.clear()
        local.entries, local.max_bytes = _configured().entries, _configured().max_bytes
