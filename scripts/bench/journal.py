"""Journal benchmarks: verifying a 100,000-entry chain, and appending one entry.

The chain is bulk-created with hashes computed here by `chain.entry_hash`, continuing whatever
the chain already holds (other setups may have journaled), so `verify()` walks a valid chain
of at least the target length. `bulk_create` is allowed: only `Entry.save` refuses updates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from scripts.bench import BenchOp, Scale

CHAIN_ENTRIES = 100_000
BATCH = 5_000
KINDS = ("TRADE_RECORDED", "MTM_RUN", "PROPOSAL_CREATED", "PROPOSAL_APPROVED", "NOTE")


def _user() -> Any:
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    return user


def _snapshot(i: int) -> dict[str, Any]:
    """A trade-sized snapshot, JSON-native (as the database returns it)."""
    return {
        "instrument": f"DI1F{27 + i % 8}",
        "side": "BUY" if i % 2 else "SELL",
        "quantity": f"{10 + i % 90}.0000",
        "price": f"{85000 + i % 5000}.12345678",
        "rate": f"0.{1400 + i % 300}0000",
        "fees": "12.50",
    }


def _setup_chain(scale: Scale) -> int:
    from apps.journal import chain
    from apps.journal.models import Entry

    target = scale.size(CHAIN_ENTRIES)
    last = Entry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = last if last else (0, chain.GENESIS)
    if seq >= target:
        return seq
    actor = _user().pk
    start = datetime(2025, 1, 2, 12, tzinfo=UTC)
    rows: list[Entry] = []
    while seq < target:
        seq += 1
        content: dict[str, Any] = {
            "seq": seq,
            "created_at": start + timedelta(seconds=seq),
            "actor_id": actor if seq % 5 else None,
            "kind": KINDS[seq % len(KINDS)],
            "portfolio_id": None,
            "position_id": None,
            "trade_id": None,
            "proposal_id": None,
            "on_date": date(2025, 1, 2) + timedelta(days=seq // 400),
            "snapshot": _snapshot(seq),
            "note": f"Bench entry {seq}: the manager's reasoning, a sentence or two long.",
            "prev_hash": prev,
        }
        content["hash"] = prev = chain.entry_hash(content)
        rows.append(Entry(**content))
        if len(rows) == BATCH:
            Entry.objects.bulk_create(rows)
            rows = []
    Entry.objects.bulk_create(rows)
    return seq


def _run_verify(expected: int) -> None:
    from apps.journal.services import verify

    broken = verify()
    if broken is not None:
        raise AssertionError(f"bench chain broken at #{broken.seq}: {broken.reason}")


def _setup_record(scale: Scale) -> Any:
    return _user()


def _run_record(user: Any) -> None:
    from django.db import transaction

    from apps.journal.models import EntryKind
    from apps.journal.services import record

    with transaction.atomic():
        record(
            kind=EntryKind.NOTE,
            actor=user,
            on_date=date(2025, 6, 30),
            snapshot=_snapshot(7),
            note="One more note on the day's decisions.",
        )


OPERATIONS = [
    BenchOp(
        f"verify a journal chain of {CHAIN_ENTRIES:,} entries",
        target_ms=5000,
        setup=_setup_chain,
        run=_run_verify,
        repeats=3,
    ),
    # Constant cost per call: the harness scales targets with --scale, so at `small` the
    # 5 ms target reads as 0.5 ms; judge this one at `full`.
    BenchOp(
        "record one journal entry (own transaction)",
        target_ms=5,
        setup=_setup_record,
        run=_run_record,
        repeats=200,
    ),
]
