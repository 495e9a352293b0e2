"""The proposal workflow: create → approve / reject / modify-and-approve (four eyes) → execute,
and expiry at the end of the trading day. Every step is journaled in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.permissions import DECIDERS, same_person, second_pair_of_eyes
from apps.core.roles import Role, has_role
from apps.core.staleness import FRESH, Basis, Staleness, basis_now, staleness
from apps.journal.models import Entry, EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import is_business_day
from apps.marketdata.models import Instrument
from apps.positions.models import Portfolio, Side, Strategy, Trade
from apps.positions.services import TradeTicket
from apps.proposals.models import Execution, Proposal, ProposalStatus
from apps.risk.services import what_if
from apps.trading.compliance import what_if_compliance
from apps.trading.pretrade import TradeRefused
from apps.trading.services import Booked, Override, book_trade

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PROPOSERS = (Role.MANAGER, Role.APPROVER)
EXECUTORS = (Role.MANAGER, Role.BACK_OFFICE)
# B3's regular session ends by 18:00 São Paulo; a proposal not decided by then expires.
TRADING_DAY_END = time(18, 0)


@dataclass(frozen=True)
class Terms:
    side: str
    quantity: Decimal
    limit_price: Decimal | None = None
    limit_rate: Decimal | None = None


def end_of_trading_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, TRADING_DAY_END))


def _check_terms(terms: Terms, instrument: Instrument, day: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if terms.side not in Side.values:
        errors["side"] = f"Side must be BUY or SELL, got {terms.side!r}."
    if terms.quantity is None or terms.quantity <= 0:
        errors["quantity"] = "Quantity must be greater than zero; the side gives the direction."
    if terms.limit_price is not None and terms.limit_price <= 0:
        errors["limit_price"] = "A limit price must be greater than zero."
    if terms.limit_rate is not None and not instrument.is_rate_quoted:
        errors["limit_rate"] = f"{instrument.ticker} is quoted by price, not rate."
    if not instrument.active:
        errors["instrument"] = f"{instrument.ticker} is not active."
    elif instrument.maturity and day >= instrument.maturity:
        errors["instrument"] = f"{instrument.ticker} matures on {instrument.maturity:%Y-%m-%d}."
    return errors


@transaction.atomic
def create_proposal(
    *,
    portfolio: Portfolio,
    strategy: Strategy,
    instrument: Instrument,
    terms: Terms,
    rationale: str,
    business_date: date,
    by: User | None = None,
    source: str = "manual",
    conviction: int = 2,
) -> Proposal:
    """A new pending proposal; `by` is None when a signal rule proposes it."""
    if by is not None and not has_role(by, *PROPOSERS):
        raise PermissionDenied("Only a manager or an approver may propose a trade.")
    if by is None and source == "manual":
        raise PermissionDenied("A manual proposal needs a proposer.")
    errors = _check_terms(terms, instrument, business_date)
    if not rationale.strip():
        errors["rationale"] = "Say why: a proposal needs a rationale."
    if strategy.portfolio_id != portfolio.pk:
        errors["strategy"] = f"Strategy {strategy} is not in {portfolio}."
    if not is_business_day(business_date):
        errors["business_date"] = f"{business_date:%Y-%m-%d} is not an ANBIMA business day."
    if errors:
        raise ValidationError(errors)
    proposal = Proposal.objects.create(
        portfolio=portfolio,
        strategy=strategy,
        instrument=instrument,
        side=terms.side,
        quantity=terms.quantity,
        limit_price=terms.limit_price,
        limit_rate=terms.limit_rate,
        rationale=rationale.strip(),
        conviction=conviction,
        source=source,
        business_date=business_date,
        expires_at=end_of_trading_day(business_date),
        proposed_by=by,
    )
    proposal.original_terms = proposal.terms()
    proposal.save(update_fields=["original_terms"])
    refresh_what_if(proposal)
    journal(
        kind=EntryKind.PROPOSAL_CREATED,
        actor=by,
        portfolio=portfolio,
        proposal=proposal,
        on_date=business_date,
        snapshot={"instrument": instrument.ticker, "source": source, **proposal.terms()},
        note=proposal.rationale,
    )
    return proposal


def four_eyes() -> bool:
    return bool(getattr(settings, "PROPOSALS_FOUR_EYES", True))


def proposed_by_self(proposal: Proposal, user: Any) -> bool:
    """Four eyes: `user` proposed it, so someone else must decide it (PROPOSALS_FOUR_EYES)."""
    return same_person(user, maker_id=proposal.proposed_by_id, four_eyes=four_eyes())


def taken_up_by_self(proposal: Proposal, user: Any) -> bool:
    """Four eyes on a signal rule's proposal: nobody proposed it, so the person who took it
    up (approved it) may not also execute it (PROPOSALS_FOUR_EYES)."""
    if proposal.proposed_by_id is not None:
        return False
    return same_person(user, maker_id=proposal.decided_by_id, four_eyes=four_eyes())


def may_decide(proposal: Proposal, user: Any) -> bool:
    """`user` may approve, reject or modify `proposal` now: the one rule the pages, the API
    and the decision services share (the services re-check it under a row lock)."""
    return proposal.is_decidable and second_pair_of_eyes(
        user, maker_id=proposal.proposed_by_id, four_eyes=four_eyes()
    )


def may_execute(proposal: Proposal, user: Any) -> bool:
    """`user` may record this proposal's fill now (the pages' and the service's rule)."""
    return (
        proposal.is_executable
        and has_role(user, *EXECUTORS)
        and not taken_up_by_self(proposal, user)
    )


def _lock_for_decision(proposal: Proposal, by: User) -> Proposal:
    """Re-read the proposal under a row lock and check this user may decide it now."""
    if not has_role(by, *DECIDERS):
        raise PermissionDenied("Only a manager or an approver may decide a proposal.")
    locked = Proposal.objects.select_for_update().select_related("instrument").get(pk=proposal.pk)
    if locked.status != ProposalStatus.PENDING:
        who = locked.decided_by.get_username() if locked.decided_by else "the system"
        raise ValidationError(
            f"Proposal #{locked.pk} is already {locked.get_status_display().lower()} "
            f"(by {who}); nothing was changed."
        )
    if locked.expires_at <= timezone.now():
        raise ValidationError(
            f"Proposal #{locked.pk} expired at {timezone.localtime(locked.expires_at):%H:%M} "
            f"on {locked.business_date:%Y-%m-%d}."
        )
    if proposed_by_self(locked, by):
        raise PermissionDenied(
            "Four eyes: you proposed this trade, so someone else must decide it."
        )
    return locked


@transaction.atomic
def measure_what_if(proposal: Proposal, *, day: date | None = None) -> dict[str, Any]:
    """Risk before and after the proposal (risk's `what_if`), stored on it with the change
    counters it was measured on (`what_if_freshness`)."""
    basis = basis_now(proposal.portfolio_id)  # before the inputs: a write after shows newer
    result = what_if(proposal, day=day)
    result["basis"] = basis.as_dict()
    # The fund's compliance rules too: what the execution's pre-trade check would refuse.
    result["compliance"] = what_if_compliance(proposal.portfolio, [proposal.instrument], result)
    proposal.what_if = result
    proposal.save(update_fields=["what_if", "updated_at"])
    return result


def what_if_freshness(proposal: Proposal) -> Staleness:
    """Whether the stored what-if still measures what it says: it is measured on the book of
    its close (`asof`), so a change of that book (a backdated trade) or of a price of that day
    or earlier makes it stale; "Measure again" (on the latest close) clears it."""
    stored = proposal.what_if or {}
    if not stored or stored.get("error") or not stored.get("asof"):
        return FRESH
    asof = date.fromisoformat(stored["asof"])
    basis = Basis.of(stored.get("basis"))
    return staleness(proposal.portfolio_id, basis, through=asof, book_through=asof)


def refresh_what_if(proposal: Proposal) -> dict[str, Any]:
    """Measure the proposal's effect on risk now; a failure is recorded, never raised."""
    try:
        return measure_what_if(proposal)
    except ValidationError as error:
        # Not measurable now (no NAV, no price): keep any breach found earlier, so a decision
        # cannot slip past a limit just because risk could not be recomputed.
        earlier = (proposal.what_if or {}).get("hard_breaches") or []
        proposal.what_if = {"error": "; ".join(error.messages), "hard_breaches": earlier}
        proposal.save(update_fields=["what_if", "updated_at"])
        return proposal.what_if


def _check_limits(proposal: Proposal, override_note: str) -> dict[str, Any] | None:
    """A what-if that breaches a hard limit needs an explicit override note to approve."""
    breaches = (proposal.what_if or {}).get("hard_breaches") or []
    if breaches and not override_note.strip():
        listed = "; ".join(str(b) for b in breaches)
        raise ValidationError(
            {
                "override_note": f"This trade breaches a hard limit ({listed}): "
                "approving it needs an override note."
            }
        )
    return {"hard_breaches": breaches} if breaches else None


def _decide(
    proposal: Proposal,
    *,
    by: User,
    status: str,
    note: str,
    kind: str,
    changed: tuple[str, ...] = (),
) -> Proposal:
    proposal.status = status
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.decision_note = note
    proposal.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
            "updated_at",
            *changed,
        ]
    )
    journal(
        kind=kind,
        actor=by,
        portfolio=proposal.portfolio,
        proposal=proposal,
        on_date=proposal.business_date,
        snapshot={"status": status, "original": proposal.original_terms, **proposal.terms()},
        note=note,
    )
    return proposal


def _journal_override(proposal: Proposal, by: User, breach: dict[str, Any], note: str) -> None:
    journal(
        kind=EntryKind.LIMIT_OVERRIDE,
        actor=by,
        portfolio=proposal.portfolio,
        proposal=proposal,
        on_date=proposal.business_date,
        snapshot=breach,
        note=note,
    )


@transaction.atomic
def approve_proposal(
    proposal: Proposal, *, by: User, note: str = "", override_note: str = ""
) -> Proposal:
    """Approve as proposed (a hard-limit breach needs `override_note`)."""
    locked = _lock_for_decision(proposal, by)
    refresh_what_if(locked)  # decide on the book as it is now, not as it was at 06:00
    breach = _check_limits(locked, override_note)
    decided = _decide(
        locked,
        by=by,
        status=ProposalStatus.APPROVED,
        note=note.strip(),
        kind=EntryKind.PROPOSAL_APPROVED,
    )
    if breach:
        _journal_override(decided, by, breach, override_note.strip())
    return decided


@transaction.atomic
def reject_proposal(proposal: Proposal, *, by: User, note: str) -> Proposal:
    """Reject; the note saying why is mandatory."""
    if not has_role(by, *DECIDERS):
        raise PermissionDenied("Only a manager or an approver may decide a proposal.")
    if not note.strip():
        raise ValidationError({"note": "Say why: rejecting a proposal needs a note."})
    locked = _lock_for_decision(proposal, by)
    return _decide(
        locked,
        by=by,
        status=ProposalStatus.REJECTED,
        note=note.strip(),
        kind=EntryKind.PROPOSAL_REJECTED,
    )


@transaction.atomic
def modify_and_approve(
    proposal: Proposal, *, by: User, terms: Terms, note: str, override_note: str = ""
) -> Proposal:
    """Approve with changed terms; the note is mandatory and the original terms are kept."""
    if not has_role(by, *DECIDERS):
        raise PermissionDenied("Only a manager or an approver may decide a proposal.")
    if not note.strip():
        raise ValidationError({"note": "Say why: modifying a proposal needs a note."})
    locked = _lock_for_decision(proposal, by)
    errors = _check_terms(terms, locked.instrument, locked.business_date)
    if errors:
        raise ValidationError(errors)
    locked.side, locked.quantity = terms.side, terms.quantity
    locked.limit_price, locked.limit_rate = terms.limit_price, terms.limit_rate
    refresh_what_if(locked)  # the limits are checked on the modified terms
    breach = _check_limits(locked, override_note)
    decided = _decide(
        locked,
        by=by,
        status=ProposalStatus.MODIFIED_APPROVED,
        note=note.strip(),
        kind=EntryKind.PROPOSAL_MODIFIED,
        changed=("side", "quantity", "limit_price", "limit_rate"),
    )
    if breach:
        _journal_override(decided, by, breach, override_note.strip())
    return decided


def execute_proposal(
    proposal: Proposal,
    *,
    by: User,
    quantity: Decimal,
    trade_date: date,
    price: Decimal | None = None,
    rate: Decimal | None = None,
    fees: Decimal = Decimal("0"),
    broker: str = "",
    confirm_warnings: bool = False,
) -> Trade:
    """Record the fill of an approved proposal as a trade, in one transaction, through the
    pre-trade check: a hard breach passes only as the approval's override released it."""
    refused: TradeRefused | None = None
    with transaction.atomic():
        locked = _lock_for_execution(proposal, by, quantity)
        try:
            booked = _book_fill(
                locked,
                by=by,
                quantity=quantity,
                trade_date=trade_date,
                price=price,
                rate=rate,
                fees=fees,
                broker=broker,
                confirm_warnings=confirm_warnings,
            )
        except TradeRefused as error:
            refused = error  # its journal entry commits with this transaction
        else:
            _mark_executed(locked, booked, by=by, trade_date=trade_date)
    if refused is not None:
        raise refused
    return booked.trade


def _lock_for_execution(proposal: Proposal, by: User, quantity: Decimal) -> Proposal:
    if not has_role(by, *EXECUTORS):
        raise PermissionDenied("Only a manager or back office may execute a proposal.")
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if not locked.is_executable:
        raise ValidationError(
            f"Proposal #{locked.pk} is {locked.get_status_display().lower()}: "
            "only an approved proposal can be executed."
        )
    if taken_up_by_self(locked, by):
        raise PermissionDenied(
            "Four eyes: a signal rule proposed this trade and you approved it, so someone "
            "else must execute it."
        )
    if quantity is None or quantity <= 0 or quantity > locked.quantity:
        raise ValidationError(
            {"quantity": f"Executed quantity must be between 0 and {locked.quantity:f}."}
        )
    return locked


def _approval_override(proposal: Proposal) -> Override | None:
    """The hard-limit override its approval gave (journaled then), if any."""
    entry = (
        Entry.objects.filter(kind=EntryKind.LIMIT_OVERRIDE, proposal_id=proposal.pk)
        .select_related("actor")
        .order_by("-seq")
        .first()
    )
    if entry is None or entry.actor is None:
        return None
    return Override(by=entry.actor, note=entry.note, source=f"approval of proposal #{proposal.pk}")


def _book_fill(proposal: Proposal, *, by: User, **fill: Any) -> Booked:
    confirm = fill.pop("confirm_warnings")
    # A fill dated before the last marked day re-marks the book from that day on.
    return book_trade(
        TradeTicket(
            portfolio=proposal.portfolio,
            strategy=proposal.strategy,
            instrument=proposal.instrument,
            side=proposal.side,
            notes=f"Execution of proposal #{proposal.pk}",
            **fill,
        ),
        by=by,
        proposal=proposal,
        confirm_warnings=confirm,
        override=_approval_override(proposal),
    )


def _mark_executed(proposal: Proposal, booked: Booked, *, by: User, trade_date: date) -> None:
    trade = booked.trade
    Execution.objects.create(proposal=proposal, trade=trade)
    proposal.status = ProposalStatus.EXECUTED
    proposal.executed_at = timezone.now()
    proposal.save(update_fields=["status", "executed_at", "updated_at"])
    journal(
        kind=EntryKind.PROPOSAL_EXECUTED,
        actor=by,
        portfolio=proposal.portfolio,
        proposal=proposal,
        trade=trade,
        on_date=trade_date,
        snapshot={"price": trade.price, "quantity": trade.quantity, "rate": trade.rate},
    )


@transaction.atomic
def expire_proposals(*, now: datetime | None = None) -> list[Proposal]:
    """Expire every pending proposal whose trading day has ended."""
    now = now or timezone.now()
    expired = []
    for proposal in Proposal.objects.select_for_update().filter(
        status=ProposalStatus.PENDING, expires_at__lte=now
    ):
        proposal.status = ProposalStatus.EXPIRED
        proposal.save(update_fields=["status", "updated_at"])
        journal(
            kind=EntryKind.PROPOSAL_EXPIRED,
            portfolio=proposal.portfolio,
            proposal=proposal,
            on_date=proposal.business_date,
            snapshot=proposal.terms(),
        )
        expired.append(proposal)
    return expired
