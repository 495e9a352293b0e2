"""The per-process layer in front of Redis: bounded in entries and bytes, copies what it keeps,
honours the TTL, and holds only the versioned read-model keys."""

from __future__ import annotations

from typing import Any

from apps.core import local_cache
from apps.core.local_cache import LocalCache, holds


def test_it_drops_the_least_recently_used_beyond_its_entries() -> None:
    cache = LocalCache(entries=2, max_bytes=1000)
    cache.set("rm:a", "A", 60)
    cache.set("rm:b", "B", 60)
    assert cache.get("rm:a", None) == "A"  # a is now the most recent
    cache.set("rm:c", "C", 60)
    assert cache.get("rm:b", None) is None and len(cache) == 2


def test_it_stays_within_its_bytes() -> None:
    cache = LocalCache(entries=100, max_bytes=10)
    cache.set("rm:a", "x" * 6, 60)
    cache.set("rm:b", "y" * 6, 60)
    assert cache.get("rm:a", None) is None and cache.get("rm:b", None) == "y" * 6
    cache.set("rm:big", "z" * 11, 60)  # larger than the whole layer: not kept
    assert cache.get("rm:big", None) is None and cache.size == 6


def test_a_caller_cannot_mutate_what_it_keeps() -> None:
    cache = LocalCache(entries=10, max_bytes=10_000)
    value: dict[str, Any] = {"rows": [1, 2]}
    cache.set("rm:book", value, 60)
    value["rows"].append(3)
    got = cache.get("rm:book", None)
    got["rows"].append(4)
    assert cache.get("rm:book", None) == {"rows": [1, 2]}


def test_an_entry_expires_with_its_ttl(monkeypatch: Any) -> None:
    now = [1000.0]
    monkeypatch.setattr(local_cache.time, "monotonic", lambda: now[0])
    cache = LocalCache(entries=10, max_bytes=10_000)
    cache.set("rm:a", "A", 30)
    now[0] += 29
    assert cache.get("rm:a", None) == "A"
    now[0] += 2
    assert cache.get("rm:a", None) is None and len(cache) == 0


def test_zero_entries_turns_it_off() -> None:
    cache = LocalCache(entries=0, max_bytes=10_000)
    cache.set("rm:a", "A", 60)
    assert cache.get("rm:a", None) is None


def test_only_the_versioned_read_model_keys_go_through_it() -> None:
    assert holds("rm:book:html:1:m3:p4:page:")
    assert not holds("verify:rm:probe") and not holds("probe:available")


def test_immutable_values_are_kept_as_they_are_and_the_rest_pickled() -> None:
    from dataclasses import dataclass
    from datetime import date
    from decimal import Decimal

    from apps.core.local_cache import immutable

    @dataclass(frozen=True)
    class Frozen:
        title: str
        day: date

    @dataclass
    class Thawed:
        title: str

    assert immutable(("Book", "<table>…</table>", Decimal("1.5"), None))
    assert immutable((Frozen("x", date(2026, 12, 7)), (1, "a")))
    assert not immutable([1, 2]) and not immutable(Thawed("x"))
    assert not immutable((1, [2]))  # a tuple holding a list can change
    cache = LocalCache(entries=4, max_bytes=10_000)
    body = Frozen("Book", date(2026, 12, 7))
    cache.set("rm:body", body, 60)
    assert cache.get("rm:body", None) is body  # no copy needed: nothing in it can change
    listed = [1, 2]
    cache.set("rm:list", listed, 60)
    got = cache.get("rm:list", None)
    assert got == listed and got is not listed
