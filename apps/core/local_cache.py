"""The per-process layer in front of Redis: a bounded LRU of recent read models and page bodies.

It holds only the versioned read-model keys (`rm:…`, which carry the data versions they were
built from), so it can never serve stale data: a write bumps a version and the next read asks
for another key. Bounded in entries and in bytes (LOCAL_CACHE_ENTRIES, LOCAL_CACHE_BYTES; 0
entries turns it off); each entry also keeps its TTL, as Redis would. Values are stored as
given when immutable (str, bytes), else pickled, so a caller can never mutate a cached value.
With Redis dead, a process keeps serving what it last saw: no network, no breaker, no rebuild.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

PREFIX = "rm:"
_IMMUTABLE = (str, bytes, int, float, bool, type(None))


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
        pickled = not isinstance(value, _IMMUTABLE)
        stored = pickle.dumps(value, pickle.HIGHEST_PROTOCOL) if pickled else value
        size = len(stored) if isinstance(stored, str | bytes) else 64
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
