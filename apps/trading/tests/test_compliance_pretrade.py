"""Active breaches: the fund's compliance rules in the pre-trade check of every booking path.
A ticket that breaks (or adds to) a hard rule is refused, nothing written, and no override
releases it; a soft rule warns; a ticket that reduces a breach passes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.compliance.models import ComplianceRule, RuleKind, Severity
from apps.marketdata.models import Instrument
from apps.positions.models import Trade
from apps.positions.services import TradeTicket
from apps.trading.pretrade import Override, TradeRefused, WarningsNotConfirmed, check
from apps.trading.services import book_trade
from apps.trading.tests.support import TODAY, ledger_state, logged_in, make_desk, refusals, ticket

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def desk(book_at: Any) -> Any:
    return make_desk(book_at)


def rule(desk: Any, kind: str, limit: str, scope: str = "", soft: bool = False) -> ComplianceRule:
    return ComplianceRule.objects.create(
        portfolio=desk.portfolio,
        code=f"{kind.lower()}-{scope.lower() or 'all'}",
        name=f"{kind} {scope}".strip(),
        kind=kind,
        scope=scope,
        limit=D(limit),
        severity=Severity.SOFT if soft else Severity.HARD,
        legal_basis="Fund policy.",
    )


def di1f29(desk: Any, side: str = "BUY", quantity: str = "700") -> TradeTicket:
    """700 DI1F29 at 70,010: R$ 49 mi on a R$ 100 mi fund."""
    return TradeTicket(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="DI1F29"),
        side=side,
        quantity=D(quantity),
        price=D("70010.00"),
        trade_date=TODAY,
    )


def compliance(verdict: Any) -> list[Any]:
    return [r for r in verdict.results if r.rule == "COMPLIANCE"]


def test_a_ticket_that_breaks_a_hard_rule_is_refused_and_nothing_is_written(
    desk: Any, pm_alice: Any, cio_bob: Any
) -> None:
    rule(desk, RuleKind.INSTRUMENT, "0.30")
    before = ledger_state(desk)
    with pytest.raises(TradeRefused) as refused:
        book_trade(di1f29(desk), by=pm_alice, confirm_warnings=True)
    [result] = compliance(refused.value.verdict)
    assert result.status == "block" and result.block == D("0.30")
    assert result.message.startswith("Compliance · INSTRUMENT: 4")
    assert "this trade breaks a hard rule" in result.message and "DI1F29" in result.message
    assert ledger_state(desk) == before
    [refusal] = refusals()
    assert any(r["rule"] == "COMPLIANCE" for r in refusal.snapshot["verdict"]["results"])
    # An approver's override releases risk limits, never a compliance rule.
    release = Override(by=cio_bob, note="Go ahead.", source="test")
    with pytest.raises(TradeRefused):
        book_trade(di1f29(desk), by=pm_alice, confirm_warnings=True, override=release)
    assert ledger_state(desk) == before


def test_a_soft_rule_warns_and_books_once_confirmed(desk: Any, pm_alice: Any) -> None:
    rule(desk, RuleKind.GROSS_EXPOSURE, "0.40", soft=True)
    with pytest.raises(WarningsNotConfirmed):
        book_trade(di1f29(desk), by=pm_alice)
    assert not Trade.objects.filter(instrument__ticker="DI1F29").exists()
    booked = book_trade(di1f29(desk), by=pm_alice, confirm_warnings=True)
    [result] = compliance(booked.verdict)
    assert result.status == "warn" and result.warn == D("0.40")


def test_within_the_rules_the_ticket_passes_with_its_numbers(desk: Any) -> None:
    rule(desk, RuleKind.INSTRUMENT, "0.30")
    rule(desk, RuleKind.FORBIDDEN_KINDS, "0", scope="OFFSHORE_FUTURE")
    verdict = check([di1f29(desk, quantity="10")])
    forbidden, instrument = compliance(verdict)  # the rules in kind order
    assert (forbidden.status, instrument.status) == ("pass", "pass")
    assert instrument.message == (
        "Compliance · INSTRUMENT: 0.88 % of NAV (limit ≤ 30.00 %): within."
    )
    assert forbidden.message.endswith("0 position(s) (limit 0): within.")


def test_a_ticket_that_reduces_a_breach_passes(desk: Any) -> None:
    rule(desk, RuleKind.ASSET_CLASS, "0.001", scope="RATES")  # the book is already over
    [grown] = compliance(check([di1f29(desk, quantity="10")]))
    assert grown.status == "block"
    di1f26 = TradeTicket(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="DI1F26"),
        side="SELL",
        quantity=D("5"),
        price=D("88100.00"),
        trade_date=TODAY,
    )
    [reduced] = compliance(check([di1f26]))
    assert reduced.status == "pass" and "already over before the trade" in reduced.message


def test_the_trade_page_shows_the_compliance_refusal(
    client: Client, desk: Any, pm_alice: Any
) -> None:
    rule(desk, RuleKind.INSTRUMENT, "0.30")
    data = ticket(desk, "DI1F29", quantity="700", price="70010.00", confirm_warnings="on")
    body = logged_in(client, pm_alice).post("/book/trade/new/", data).content.decode()
    assert "Compliance · INSTRUMENT" in body and "breaks a hard rule" in body
    assert 'data-testid="override-request"' not in body  # nothing an approver can release


# Every kind the pre-trade check can move, with a limit the 700 DI1F29 ticket (R$ 49 mi, 49 %
# of NAV) breaks; DI1F29 is flagged abroad and given a bank as issuer for the occasion.
ACTIVE = [
    (RuleKind.GROSS_EXPOSURE, "0.30", ""),
    (RuleKind.NET_EXPOSURE, "0.30", ""),
    (RuleKind.FOREIGN, "0.30", ""),
    (RuleKind.ISSUER, "0.30", "FINANCIAL"),
    (RuleKind.ISSUER_KIND, "0.30", "FINANCIAL"),
    (RuleKind.INSTRUMENT, "0.30", ""),
    (RuleKind.ASSET_CLASS, "0.30", "RATES"),
    (RuleKind.FORBIDDEN_KINDS, "0", "DI1"),  # the book holds two DI1 already: a third is worse
    (RuleKind.ALLOWED_KINDS, "0", "EQUITY"),
]


@pytest.mark.parametrize(("kind", "limit", "scope"), ACTIVE)
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_every_kind_blocks_or_warns_the_ticket_that_breaks_it(
    desk: Any, kind: str, limit: str, scope: str, soft: bool
) -> None:
    from apps.marketdata.models import Issuer

    bank = Issuer.objects.create(name="Banco Alfa", kind="FINANCIAL")
    Instrument.objects.filter(ticker="DI1F29").update(foreign=True, issuer=bank)
    rule(desk, kind, limit, scope, soft=soft)
    [result] = compliance(check([di1f29(desk)]))
    assert result.status == ("warn" if soft else "block"), result.message
    assert "this trade breaks a" in result.message


def test_a_cash_floor_blocks_a_ticket_paid_in_cash_and_not_a_future(desk: Any) -> None:
    rule(desk, RuleKind.MIN_CASH, "0.90")
    petr4 = TradeTicket(
        portfolio=desk.portfolio,
        strategy=desk.strategy,
        instrument=Instrument.objects.get(ticker="PETR4"),
        side="BUY",
        quantity=D("500000"),  # R$ 19 mi of shares, paid from cash
        price=D("37.90"),
        trade_date=TODAY,
    )
    [paid] = compliance(check([petr4]))
    assert paid.status == "block" and paid.message.startswith("Compliance · MIN_CASH: ")
    [future] = compliance(check([di1f29(desk)]))  # a future moves no cash
    assert future.status == "pass"


def test_the_margin_rule_is_not_moved_by_a_ticket(desk: Any) -> None:
    """B3's margin is a figure entered per day: a ticket cannot move it before B3 computes it;
    without one the rule says it was not measured, and does not block."""
    rule(desk, RuleKind.MARGIN, "0.70")
    [result] = compliance(check([di1f29(desk)]))
    assert result.status == "n/a" and "No B3 margin entered" in result.message
