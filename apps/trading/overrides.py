"""Hard-limit overrides: a booker whose ticket breaches a hard limit asks for one; an approver
who is not the booker grants it with a note (the ticket is booked at once, as the booker's
trade, with the override journaled) or declines it with a note."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.permissions import second_pair_of_eyes
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.positions.services import TradeTicket
from apps.trading import pretrade
from apps.trading.models import OverrideRequest, OverrideStatus
from apps.trading.pretrade import Override, TradeRefused
from apps.trading.services import Booked, book_trade, require_trader, well_formed

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def request_override(
    ticket: TradeTicket, *, by: User, reason: str, confirm_warnings: bool = False
) -> OverrideRequest:
    """Ask an approver to release the hard-limit breach of `ticket` (reason required)."""
    require_trader(by)
    well_formed(ticket)
    if not reason.strip():
        raise ValidationError({"reason": "Say why: an override request needs a reason."})
    verdict = pretrade.check([ticket])
    if verdict.rule_blocks:
        listed = " ".join(r.message for r in verdict.rule_blocks)
        raise ValidationError(f"No override can release this ticket: {listed}")
    if not verdict.limit_blocks:
        raise ValidationError("This ticket breaches no hard limit: book it, no override needed.")
    if verdict.warnings and not confirm_warnings:
        listed = " ".join(r.message for r in verdict.warnings)
        raise ValidationError({"confirm_warnings": f"Confirm the warnings first: {listed}"})
    request = OverrideRequest.objects.create(
        portfolio=ticket.portfolio,
        strategy=ticket.strategy,
        instrument=ticket.instrument,
        side=ticket.side,
        quantity=ticket.quantity,
        price=ticket.price,
        rate=ticket.rate,
        trade_date=ticket.trade_date,
        settlement_date=ticket.settlement_date,
        fees=ticket.fees,
        broker=ticket.broker,
        notes=ticket.notes,
        reason=reason.strip(),
        verdict=verdict.journal(),
        requested_by=by,
    )
    journal(
        kind=EntryKind.OVERRIDE_REQUESTED,
        actor=by,
        portfolio=ticket.portfolio,
        on_date=ticket.trade_date,
        snapshot={
            "request": request.pk,
            "ticket": pretrade.ticket_snapshot(ticket),
            "verdict": request.verdict,
        },
        note=request.reason,
    )
    return request


def ticket_of(request: OverrideRequest) -> TradeTicket:
    return TradeTicket(
        portfolio=request.portfolio,
        strategy=request.strategy,
        instrument=request.instrument,
        side=request.side,
        quantity=request.quantity,
        trade_date=request.trade_date,
        price=request.price,
        rate=request.rate,
        fees=request.fees,
        broker=request.broker,
        notes=request.notes,
        settlement_date=request.settlement_date,
    )


def may_grant(request: OverrideRequest, user: Any) -> bool:
    """The page's and the service's rule: a pending request, a decider who is not the booker."""
    return request.is_pending and second_pair_of_eyes(user, maker_id=request.requested_by_id)


def _lock(request: OverrideRequest, by: User, note: str) -> OverrideRequest:
    locked = OverrideRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_pending:
        raise ValidationError(
            f"Override #{locked.pk} is already {locked.get_status_display().lower()}."
        )
    if not second_pair_of_eyes(by, maker_id=locked.requested_by_id):
        raise PermissionDenied(
            "Only a manager or an approver who is not the booker may decide an override."
        )
    if not note.strip():
        raise ValidationError({"note": "Say why: deciding an override needs a note."})
    return locked


def grant_override(request: OverrideRequest, *, by: User, note: str) -> Booked:
    """Release the breach and book the ticket now, checked again on the book as it is now: a
    fat-finger block found now still refuses it (and the request stays pending)."""
    refused: TradeRefused | None = None
    with transaction.atomic():
        locked = _lock(request, by, note)
        try:
            booked = book_trade(
                ticket_of(locked),
                by=locked.requested_by,
                confirm_warnings=True,  # the booker confirmed them when asking
                override=Override(by=by, note=note, source=f"override request #{locked.pk}"),
            )
        except TradeRefused as error:
            refused = error  # its journal entry commits with this transaction
        else:
            locked.status = OverrideStatus.GRANTED
            locked.decided_by, locked.decided_at = by, timezone.now()
            locked.note, locked.trade = note.strip(), booked.trade
            locked.save(
                update_fields=["status", "decided_by", "decided_at", "note", "trade", "updated_at"]
            )
    if refused is not None:
        raise refused
    return booked


@transaction.atomic
def decline_override(request: OverrideRequest, *, by: User, note: str) -> OverrideRequest:
    """Refuse to release the breach; nothing is booked."""
    locked = _lock(request, by, note)
    locked.status = OverrideStatus.DECLINED
    locked.decided_by, locked.decided_at, locked.note = by, timezone.now(), note.strip()
    locked.save(update_fields=["status", "decided_by", "decided_at", "note", "updated_at"])
    journal(
        kind=EntryKind.OVERRIDE_DECLINED,
        actor=by,
        portfolio=locked.portfolio,
        on_date=locked.trade_date,
        snapshot={"request": locked.pk, "requested_by": locked.requested_by.get_username()},
        note=locked.note,
    )
    return locked
