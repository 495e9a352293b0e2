"""The journal's head anchored outside its table, so a deletion from the end is found.

Removing the last entries leaves a shorter chain whose every link still verifies. So the head
(last seq and its hash) is written where the journal table is not: on every pipeline run
(`ops_pipelinerun`), on every morning pack (its page and PDF print it) and in each backup's
`meta.json`. The chain is checked against the latest anchor (the highest seq): the entry at
that seq must exist and carry that hash; the chain's links prove everything before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps

from apps.journal import chain
from apps.journal.models import Entry, JournalAnchored


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    source: str  # where it was recorded, for the message: "pipeline run eod 2025-02-03 …"


def stamp(record: JournalAnchored, entry: Entry) -> None:
    """Record `entry` (just appended, same transaction) as the head on `record`."""
    record.journal_seq, record.journal_hash = entry.seq, entry.hash
    record.save(update_fields=["journal_seq", "journal_hash"])


def recorded() -> list[Anchor]:
    """The highest anchor kept by each anchored model in the database."""
    found = []
    for model in apps.get_models():
        if not issubclass(model, JournalAnchored):
            continue
        rows = model._default_manager.filter(journal_seq__isnull=False)
        row = rows.order_by("-journal_seq").first()
        if row is not None and row.journal_seq is not None:
            found.append(Anchor(row.journal_seq, row.journal_hash, row.anchor_label))
    return found


def from_backup(folder: Path) -> Anchor | None:
    """The head a backup.sh folder recorded in its meta.json (None for an empty journal or a
    backup made before anchors existed)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    head = meta.get("journal_head") or None
    if head is None:
        return None
    return Anchor(int(head["seq"]), str(head["hash"]), f"backup {folder.name}")


def latest(extra: Iterable[Anchor] = ()) -> Anchor | None:
    candidates = [*recorded(), *extra]
    return max(candidates, key=lambda a: a.seq) if candidates else None


def check(anchor: Anchor) -> chain.Break | None:
    """Does the journal still hold the anchored entry? If not, name what is missing."""
    last = Entry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if last < anchor.seq:
        count, first = anchor.seq - last, last + 1
        span = f"entry #{first} is" if count == 1 else f"entries #{first}–#{anchor.seq} are"
        noun = "entry" if count == 1 else "entries"
        return chain.Break(
            first,
            f"{span} missing ({count} {noun}): the chain ends at #{last} but the "
            f"{anchor.source} anchored #{anchor.seq} (hash {anchor.hash[:16]}…)",
        )
    found = Entry.objects.filter(seq=anchor.seq).values_list("hash", flat=True).first() or ""
    if found != anchor.hash:
        return chain.Break(
            anchor.seq,
            f"entry #{anchor.seq} is not the one anchored by the {anchor.source} (hash "
            f"{anchor.hash[:16]}…, found {found[:16]}…): entries up to #{anchor.seq} were "
            "deleted and others written in their place",
        )
    return None
