"""The hash chain (Django-free): a canonical serialisation and SHA-256 per entry.

hash_n = SHA-256(canonical JSON of entry n's content including prev_hash = hash_{n−1}).
Canonical JSON: sorted keys, no whitespace, UTF-8, dates ISO 8601 (UTC, microseconds),
Decimals as strings. Changing any byte of any field of any entry changes its hash, and with
it every later prev_hash, so an edit or a deletion shows at the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64

FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "kind",
    "portfolio_id",
    "position_id",
    "trade_id",
    "proposal_id",
    "on_date",
    "snapshot",
    "note",
    "prev_hash",
)


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not serialisable in a journal entry")


def canonical(content: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: the entry's fields in canonical JSON."""
    missing = [name for name in FIELDS if name not in content]
    if missing:
        raise ValueError(f"journal content lacks {', '.join(missing)}")
    body = {name: content[name] for name in FIELDS}
    return json.dumps(
        body, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def entry_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def first_break(entries: Iterable[Mapping[str, Any]]) -> Break | None:
    """Walk entries in seq order; the first one whose link or content does not verify."""
    expected_prev, expected_seq = GENESIS, 1
    for content in entries:
        seq = content["seq"]
        if seq != expected_seq:
            return Break(expected_seq, f"entry #{expected_seq} is missing (next found is #{seq})")
        if content["prev_hash"] != expected_prev:
            return Break(seq, f"entry #{seq} does not link to entry #{seq - 1}")
        recomputed = entry_hash(content)
        if recomputed != content["hash"]:
            return Break(seq, f"entry #{seq} was altered: its content no longer matches its hash")
        expected_prev, expected_seq = content["hash"], seq + 1
    return None
