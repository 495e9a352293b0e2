"""Writing to and verifying the journal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.core.inputs import too_long_message
from apps.core.roles import Role, has_role
from apps.journal import chain
from apps.journal.anchors import Anchor
from apps.journal.anchors import check as check_anchor
from apps.journal.anchors import latest as latest_anchor
from apps.journal.models import Entry, EntryKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# One advisory-lock key for the whole chain: writers queue here until the holder commits, so
# each new entry links to the one committed before it (PostgreSQL; SQLite serialises writes).
CHAIN_LOCK = 0x504D534A  # "PMSJ"

_VALUE_FIELDS = (
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
    "hash",
)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def _plain(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as JSON-native values, exactly as the database will return it."""
    import json

    return json.loads(json.dumps(snapshot, cls=DjangoJSONEncoder))


def record(
    *,
    kind: str,
    actor: User | None = None,
    portfolio: Any = None,
    position: Any = None,
    trade: Any = None,
    proposal: Any = None,
    on_date: date | None = None,
    snapshot: dict[str, Any] | None = None,
    note: str = "",
) -> Entry:
    """Append an entry; call inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("journal.record must run inside the transaction of its change")
    if len(note) > settings.TEXT_MAX_LENGTH:  # whatever the path: the journal keeps it forever
        raise ValidationError({"note": too_long_message(settings.TEXT_MAX_LENGTH)})
    _lock_chain()
    last = Entry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS)
    content: dict[str, Any] = {
        "seq": seq,
        "created_at": timezone.now(),
        "actor_id": getattr(actor, "pk", None),
        "kind": kind,
        "portfolio_id": getattr(portfolio, "pk", None),
        "position_id": getattr(position, "pk", None),
        "trade_id": getattr(trade, "pk", None),
        "proposal_id": getattr(proposal, "pk", None),
        "on_date": on_date,
        "snapshot": _plain(snapshot or {}),
        "note": note,
        "prev_hash": prev_hash,
    }
    content["hash"] = chain.entry_hash(content)
    return Entry.objects.create(**content)


@transaction.atomic
def add_note(
    *,
    by: User,
    note: str,
    portfolio: Any = None,
    position: Any = None,
    proposal: Any = None,
    on_date: date | None = None,
) -> Entry:
    """A manager's (or approver's) note on a position, a proposal or a day."""
    if not has_role(by, Role.MANAGER, Role.APPROVER):
        raise PermissionDenied("Only a manager or an approver may write in the journal.")
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Write something: an empty note is not recorded."})
    if position is None and proposal is None and on_date is None:
        raise ValidationError({"note": "A note is about a position, a proposal or a day."})
    if position is not None:
        portfolio = position.portfolio
    elif proposal is not None:
        portfolio = proposal.portfolio
    return record(
        kind=EntryKind.NOTE,
        actor=by,
        portfolio=portfolio,
        position=position,
        proposal=proposal,
        on_date=on_date,
        note=note,
    )


def verify(*, anchors: Iterable[Anchor] = ()) -> chain.Break | None:
    """Recompute the whole chain, then check its head against the latest anchor (recorded
    ones and `anchors`, e.g. a backup's): the first broken or missing entry, or None."""
    rows = Entry.objects.order_by("seq").values_list(*_VALUE_FIELDS).iterator(chunk_size=5000)
    broken = chain.first_break(dict(zip(_VALUE_FIELDS, row, strict=True)) for row in rows)
    if broken is not None:
        return broken
    anchor = latest_anchor(anchors)
    return check_anchor(anchor) if anchor is not None else None
