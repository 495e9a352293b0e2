"""The pre-trade check: every path that books a trade asks it first (`services.book_trade`).

`check` reads and never writes: the fat-finger rules of `rules.py` with the fund's settings,
and the same what-if as the blotter (risk before → after, limits). `enforce` turns a verdict
into a refusal (journaled) or lets the booking through: a fat-finger block always refuses; a
hard-limit breach refuses unless an approver who is not the booker released it (`Override`);
warnings need the booker's explicit confirmation. Reversals are checked, never enforced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.permissions import second_pair_of_eyes
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import is_business_day
from apps.marketdata.models import Instrument, SettlementPrice
from apps.marketdata.queries import effective_prices
from apps.positions.models import Portfolio
from apps.positions.services import TradeTicket
from apps.risk.services import latest_risk_date, what_if
from apps.trading import rules
from apps.trading.compliance import compliance_results
from apps.trading.models import FatFingerRule
from apps.trading.rules import BLOCK, NA, PASS, WARN, Levels, RuleResult

if TYPE_CHECKING:
    from django.contrib.auth.models import User

D = Decimal


@dataclass(frozen=True)
class Override:
    """An approver's release of a hard-limit breach: who, why, and where it was given."""

    by: User
    note: str
    source: str


@dataclass
class Verdict:
    """Every rule's result for a ticket (or a basket) and the what-if behind the limits."""

    results: list[RuleResult]
    what_if: dict[str, Any] | None = None
    reversal: bool = False
    checked_at: str = field(default_factory=lambda: timezone.now().isoformat())

    @property
    def status(self) -> str:
        return rules.worst([r.status for r in self.results])

    @property
    def blocks(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == BLOCK]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == WARN]

    @property
    def limit_blocks(self) -> list[RuleResult]:
        return [r for r in self.blocks if r.rule == "LIMITS"]

    @property
    def rule_blocks(self) -> list[RuleResult]:
        """Blocks nobody can release: fat-finger, tradability, dates, compliance."""
        return [r for r in self.blocks if r.rule != "LIMITS"]

    def as_dict(self) -> dict[str, Any]:
        """The whole verdict (the API, the pages)."""
        return {
            "status": self.status,
            "reversal": self.reversal,
            "checked_at": self.checked_at,
            "results": [r.as_dict() for r in self.results],
            "what_if": self.what_if,
        }

    def journal(self) -> dict[str, Any]:
        """What the journal keeps: every rule's numbers and the what-if's headline figures."""
        kept = None
        if self.what_if:
            heads = ("var99", "es975", "dv01_total", "gross_pct", "net_pct", "worst_stress")
            kept = {
                "asof": self.what_if.get("asof"),
                "nav": self.what_if.get("nav"),
                "before": {k: self.what_if["before"].get(k) for k in heads},
                "after": {k: self.what_if["after"].get(k) for k in heads},
                "hard_breaches": self.what_if.get("hard_breaches", []),
            }
        results = [r.as_dict() for r in self.results if r.status != PASS]
        return {"status": self.status, "results": results, "what_if": kept}


class TradeRefused(ValidationError):
    """The pre-trade check refused the ticket; `verdict` says why (rules and numbers)."""

    def __init__(self, messages: dict[str, list[str]], verdict: Verdict) -> None:
        super().__init__(messages)
        self.verdict = verdict


class WarningsNotConfirmed(TradeRefused):
    """The ticket only warns: book it again with the warnings confirmed."""


# --- the check ---------------------------------------------------------------------------------


def check(tickets: Sequence[TradeTicket], *, reversal: bool = False) -> Verdict:
    """Run every rule on a ticket or a basket of one fund's tickets; writes nothing."""
    if not tickets:
        raise ValidationError("Nothing to check: no ticket.")
    portfolio = tickets[0].portfolio
    settings = _settings(portfolio)
    last = _last_settlements(tickets)
    results: list[RuleResult] = []
    for i, ticket in enumerate(tickets):
        results += static_rules(ticket, i)
        results.append(_quantity(ticket, i, settings))
        results.append(_band(ticket, i, settings, last.get(i)))
    measured, why, unmeasured = _what_if(portfolio, tickets)
    for i, ticket in enumerate(tickets):
        results += _sizes(ticket, i, settings, measured, why)
    results.append(_limits(measured, why, portfolio, unmeasured))
    instruments = [t.instrument for t in tickets]
    results += compliance_results(portfolio, instruments, measured, why, unmeasured)
    return Verdict(results, measured, reversal)


def _settings(portfolio: Portfolio) -> dict[tuple[str, str], FatFingerRule]:
    rows = FatFingerRule.objects.filter(portfolio=portfolio)
    return {(row.instrument_kind, row.rule): row for row in rows}


def levels(settings: dict[tuple[str, str], FatFingerRule], rule: str, kind: str) -> Levels | None:
    """The most specific setting: (fund, kind) → (fund, every kind) → the code's default;
    None when that row switches the rule off."""
    row = settings.get((kind, rule)) or settings.get(("", rule))
    if row is None:
        return rules.default_levels(rule, kind)
    return Levels(row.warn_level, row.block_level) if row.active else None


def static_rules(ticket: TradeTicket, i: int = 0) -> list[RuleResult]:
    """Tradable instrument, a past business day: the rules that need no data."""
    instrument, day = ticket.instrument, ticket.trade_date
    if not instrument.active:
        tradable = RuleResult("TRADABLE", BLOCK, f"{instrument.ticker} is not active.", ticket=i)
    elif instrument.maturity and day >= instrument.maturity:
        tradable = RuleResult(
            "TRADABLE",
            BLOCK,
            f"{instrument.ticker} matured on {instrument.maturity:%Y-%m-%d}; "
            f"it cannot be traded on {day:%Y-%m-%d}.",
            ticket=i,
            on_field="trade_date",
        )
    else:
        tradable = RuleResult("TRADABLE", PASS, f"{instrument.ticker} is tradable.", ticket=i)
    if day > timezone.localdate():
        dated = RuleResult("TRADE_DATE", BLOCK, f"{day:%Y-%m-%d} is in the future.", ticket=i)
    elif not is_business_day(day):
        message = f"{day:%Y-%m-%d} is not an ANBIMA business day."
        dated = RuleResult("TRADE_DATE", BLOCK, message, ticket=i)
    else:
        dated = RuleResult("TRADE_DATE", PASS, f"{day:%Y-%m-%d} is a business day.", ticket=i)
    return [tradable, dated]


def _quantity(
    ticket: TradeTicket, i: int, settings: dict[tuple[str, str], FatFingerRule]
) -> RuleResult:
    chosen = levels(settings, "QUANTITY", ticket.instrument.kind)
    if chosen is None:
        return rules.not_measured("QUANTITY", "switched off for this fund", ticket=i)
    what = f"{ticket.side} {ticket.instrument.ticker}"
    return rules.measure("QUANTITY", ticket.quantity, chosen, what=what, ticket=i)


def last_settlement(instrument: Instrument, day: date) -> SettlementPrice | None:
    """The instrument's last settlement on or before `day` (by source priority)."""
    last = (
        SettlementPrice.objects.filter(instrument=instrument, date__lte=day)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    if last is None:
        return None
    return effective_prices(last, [instrument.pk]).get(instrument.pk)


def _last_settlements(tickets: Sequence[TradeTicket]) -> dict[int, SettlementPrice]:
    found: dict[int, SettlementPrice] = {}
    for i, ticket in enumerate(tickets):
        row = last_settlement(ticket.instrument, ticket.trade_date)
        if row is not None:
            found[i] = row
    return found


def _band(
    ticket: TradeTicket,
    i: int,
    settings: dict[tuple[str, str], FatFingerRule],
    last: SettlementPrice | None,
) -> RuleResult:
    kind = ticket.instrument.kind
    by_rate = ticket.rate is not None
    rule = "RATE_BAND" if by_rate else "PRICE_BAND"
    chosen = levels(settings, rule, kind)
    if chosen is None:
        return rules.not_measured(rule, "switched off for this fund", ticket=i)
    if last is None:
        why = f"no settlement of {ticket.instrument.ticker} on or before {ticket.trade_date}"
        return rules.not_measured(rule, why, ticket=i)
    on = f"{last.date:%d/%m/%Y}"
    if by_rate:
        assert ticket.rate is not None
        if last.rate is None:
            return rules.not_measured(rule, f"the settlement of {on} has no rate", ticket=i)
        off = (ticket.rate - last.rate) * D(10_000)
        what = f"{ticket.rate * 100:.3f} % against {last.rate * 100:.3f} % on {on}"
        return rules.measure(rule, off, chosen, what=what, ticket=i)
    if ticket.price is None or not last.price:
        return rules.not_measured(rule, "no price to compare", ticket=i)
    off = ticket.price / last.price - 1
    places = ticket.instrument.price_places
    what = f"{ticket.price:,.{places}f} against {last.price:,.{places}f} on {on}"
    return rules.measure(rule, off, chosen, what=what, ticket=i)


def _what_if(
    portfolio: Portfolio, tickets: Sequence[TradeTicket]
) -> tuple[dict[str, Any] | None, str, str]:
    """The blotter's what-if for the ticket(s); else why it could not be measured and what
    that means for the limits: a fund never marked has nothing to measure against (n/a), a
    marked one that cannot be measured now must not pass silently (a warning)."""
    if latest_risk_date(portfolio) is None:
        return None, f"{portfolio} has no NAV yet", NA
    try:
        return what_if(list(tickets)), "", PASS
    except ValidationError as error:
        return None, "; ".join(error.messages), WARN


def _sizes(
    ticket: TradeTicket,
    i: int,
    settings: dict[tuple[str, str], FatFingerRule],
    measured: dict[str, Any] | None,
    why: str,
) -> list[RuleResult]:
    """Notional, DV01 and FX delta the ticket adds, against the NAV of the what-if's day."""
    kind, ticker = ticket.instrument.kind, ticket.instrument.ticker
    out = []
    for rule in ("NOTIONAL", "DV01", "FX_DELTA"):
        chosen = levels(settings, rule, kind)
        if chosen is None:
            out.append(rules.not_measured(rule, "switched off for this fund", ticket=i))
            continue
        if measured is None or not measured.get("nav"):
            out.append(rules.not_measured(rule, why or "no NAV", ticket=i))
            continue
        nav = D(str(measured["nav"]))
        added = measured["trades"][i]
        if rule == "NOTIONAL":
            amount = D(str(added["exposure"]))
        elif rule == "DV01":
            amount = D(str(added["dv01"]))
        else:
            amount = D(str(added["fx_delta_usd"])) * D(str(added["ptax"] or 0))
        unit = "per bp" if rule == "DV01" else ""
        what = f"R$ {abs(amount):,.0f} {unit} of {ticker}, NAV R$ {nav:,.0f}".replace("  ", " ")
        out.append(rules.measure(rule, amount / nav, chosen, what=what, ticket=i))
    return out


def _limits(
    measured: dict[str, Any] | None, why: str, portfolio: Portfolio, unmeasured: str
) -> RuleResult:
    """The fund's limits after the trade: a new or worse hard breach blocks (an approver may
    release it), a limit newly at its warning level (or worse there) warns."""
    if measured is None:
        return rules.not_measured("LIMITS", why, status=unmeasured)
    breaches = measured.get("hard_breaches") or []
    if breaches:
        return RuleResult("LIMITS", BLOCK, "Hard limit breached: " + "; ".join(breaches) + ".")
    before = {c["limit_id"]: c for c in measured["before"]["limits"]}
    warned = [
        f"{c['label']}: {c['utilisation']:.0%} of the hard limit (warning at "
        f"{c['warning'] / c['hard']:.0%})"
        for c in measured["after"]["limits"]
        if c["level"] == "warning"
        and c["utilisation"] > before.get(c["limit_id"], {}).get("utilisation", 0.0) + 1e-9
    ]
    if warned:
        return RuleResult("LIMITS", WARN, "Limit at its warning level: " + "; ".join(warned) + ".")
    return RuleResult("LIMITS", PASS, f"Every limit of {portfolio.code} stays within its levels.")


# --- enforcing it ------------------------------------------------------------------------------


def enforce(
    verdict: Verdict,
    ticket: TradeTicket,
    *,
    by: User,
    confirm_warnings: bool,
    override: Override | None,
    proposal: Any = None,
) -> None:
    """Let the booking through, or refuse it: a refusal is journaled (in the caller's
    transaction, which must commit it: see `services.book_trade`) and raised."""
    if verdict.rule_blocks:
        _refuse(verdict, ticket, by=by, proposal=proposal, shown=verdict.rule_blocks)
    if verdict.limit_blocks:
        problem = _override_problem(override, by)
        if problem:
            shown = verdict.limit_blocks
            extra: dict[str, list[str]] = {NON_FIELD_ERRORS: [problem]}
            _refuse(verdict, ticket, by=by, proposal=proposal, shown=shown, extra=extra)
    if verdict.warnings and not confirm_warnings:
        listed = [r.message for r in verdict.warnings]
        raise WarningsNotConfirmed(
            {"confirm_warnings": ["Confirm the warnings to book this trade.", *listed]}, verdict
        )


def _override_problem(override: Override | None, booker: User) -> str:
    if override is None:
        return (
            "A hard-limit breach needs an override: request one, and an approver who is "
            "not the booker grants it with a note."
        )
    if not second_pair_of_eyes(override.by, maker_id=booker.pk):
        return (
            f"{override.by.get_username()} may not override this breach: only a manager or an "
            "approver who is not the booker may."
        )
    if not override.note.strip():
        return "An override needs the approver's note."
    return ""


def _refuse(
    verdict: Verdict,
    ticket: TradeTicket,
    *,
    by: User,
    proposal: Any,
    shown: list[RuleResult],
    extra: dict[str, list[str]] | None = None,
) -> None:
    messages: dict[str, list[str]] = {}
    for result in shown:
        messages.setdefault(result.field or NON_FIELD_ERRORS, []).append(result.message)
    for name, more in (extra or {}).items():
        messages.setdefault(name, []).extend(more)
    with transaction.atomic():
        journal(
            kind=EntryKind.TRADE_REFUSED,
            actor=by,
            portfolio=ticket.portfolio,
            proposal=proposal,
            on_date=ticket.trade_date if isinstance(ticket.trade_date, date) else None,
            snapshot={"ticket": ticket_snapshot(ticket), "verdict": verdict.journal()},
            note=" ".join(r.message for r in shown),
        )
    raise TradeRefused(messages, verdict)


def ticket_snapshot(ticket: TradeTicket) -> dict[str, Any]:
    return {
        "portfolio": ticket.portfolio.code,
        "strategy": ticket.strategy.code,
        "instrument": ticket.instrument.ticker,
        "side": ticket.side,
        "quantity": ticket.quantity,
        "price": ticket.price,
        "rate": ticket.rate,
        "trade_date": ticket.trade_date,
        "fees": ticket.fees,
    }
