"""The rule maths, kind by kind: within the limit, and over it (hard: a breach; soft: a
warning), on plain holdings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from apps.compliance.engine import Book, Holding, RuleSpec, evaluate
from apps.compliance.models import RuleKind, Severity, Status

D = Decimal
NAV = D("100000000")

UNIAO: dict[str, Any] = {"issuer": "Tesouro Nacional", "issuer_kind": "UNIAO"}
BANK: dict[str, Any] = {"issuer": "Banco Alfa", "issuer_kind": "FINANCIAL"}
VALE: dict[str, Any] = {"issuer": "Vale S.A.", "issuer_kind": "LISTED"}
PETRO: dict[str, Any] = {"issuer": "Petrobras", "issuer_kind": "LISTED"}

BOOK = Book(
    holdings=(
        Holding("NTNB_20350515", "NTNB", "INFLATION", D("40000000"), **UNIAO),
        Holding("CDB_ALFA", "EQUITY", "RATES", D("15000000"), **BANK),
        Holding("VALE3", "EQUITY", "EQUITY", D("8000000"), **VALE),
        Holding("PETR4", "EQUITY", "EQUITY", D("-3000000"), **PETRO),
        Holding("DI1F27", "DI1", "RATES", D("-60000000")),
        Holding("ESZ26", "OFFSHORE_FUTURE", "OFFSHORE", D("12000000"), foreign=True),
    ),
    nav=NAV,
    cash=D("7000000"),
    margin=D("30000000"),
    margin_note="B3",
)


def rule(kind: str, limit: str, scope: tuple[str, ...] = (), hard: bool = True) -> RuleSpec:
    severity = Severity.HARD if hard else Severity.SOFT
    return RuleSpec("r", "a rule", kind, scope, D(limit), severity)


# kind, scope, the value the book gives, a limit it is within, a limit it breaks
CASES = [
    (RuleKind.GROSS_EXPOSURE, (), D("1.38"), "1.50", "1.30"),
    (RuleKind.NET_EXPOSURE, (), D("0.12"), "0.20", "0.10"),
    (RuleKind.MARGIN, (), D("0.30"), "0.70", "0.25"),
    (RuleKind.FOREIGN, (), D("0.12"), "0.20", "0.10"),
    (RuleKind.ISSUER, ("FINANCIAL",), D("0.15"), "0.20", "0.10"),
    (RuleKind.ISSUER, ("LISTED",), D("0.08"), "0.10", "0.05"),
    (RuleKind.ISSUER, (), D("0.40"), "0.50", "0.30"),  # any issuer: the União
    (RuleKind.ISSUER_KIND, ("LISTED",), D("0.11"), "0.20", "0.10"),  # Vale + |Petrobras|
    (RuleKind.INSTRUMENT, (), D("0.60"), "0.70", "0.50"),  # DI1F27, |short|
    (RuleKind.INSTRUMENT, ("NTNB",), D("0.40"), "0.45", "0.35"),
    (RuleKind.ASSET_CLASS, ("EQUITY",), D("0.11"), "0.67", "0.10"),
    (RuleKind.FORBIDDEN_KINDS, ("OFFSHORE_FUTURE", "FRC"), D("1"), "1", "0"),
    (RuleKind.ALLOWED_KINDS, ("DI1", "NTNB", "EQUITY"), D("1"), "1", "0"),  # ESZ26 outside
]


@pytest.mark.parametrize(("kind", "scope", "value", "within", "over"), CASES)
def test_each_kind_measures_the_book_and_compares_it(
    kind: str, scope: tuple[str, ...], value: Decimal, within: str, over: str
) -> None:
    [ok] = evaluate([rule(kind, within, scope)], BOOK)
    assert ok.value == value and ok.status == Status.PASS, ok.detail
    [hard] = evaluate([rule(kind, over, scope)], BOOK)
    assert hard.status == Status.BREACH and hard.breaches()
    [soft] = evaluate([rule(kind, over, scope, hard=False)], BOOK)
    assert soft.status == Status.WARN and soft.breaches()


def test_minimum_cash_is_a_floor() -> None:
    [ok] = evaluate([rule(RuleKind.MIN_CASH, "0.05")], BOOK)
    assert (ok.value, ok.status) == (D("0.07"), Status.PASS)
    assert ok.utilisation == D("0.05") / D("0.07")
    [short] = evaluate([rule(RuleKind.MIN_CASH, "0.10")], BOOK)
    assert short.status == Status.BREACH and "cash R$ 7,000,000" in short.detail


def test_without_a_margin_figure_the_margin_rule_is_not_evaluated() -> None:
    book = Book(BOOK.holdings, NAV, BOOK.cash, None, "No B3 margin entered.")
    [result] = evaluate([rule(RuleKind.MARGIN, "0.70")], book)
    assert result.status == Status.NA and result.value is None
    assert result.detail == "No B3 margin entered." and not result.breaches()


def test_the_details_name_what_the_number_is_made_of() -> None:
    issuer, instrument, forbidden = evaluate(
        [
            rule(RuleKind.ISSUER, "0.5"),
            rule(RuleKind.INSTRUMENT, "0.7"),
            rule(RuleKind.FORBIDDEN_KINDS, "0", ("OFFSHORE_FUTURE",)),
        ],
        BOOK,
    )
    assert issuer.detail == "largest issuer: Tesouro Nacional, R$ 40,000,000"
    assert instrument.detail == "largest instrument: DI1F27, R$ 60,000,000"
    assert forbidden.detail == "positions in them: ESZ26"


def test_a_ticket_nets_into_its_position_and_is_worse_only_when_it_adds_to_a_breach() -> None:
    rules = [rule(RuleKind.FOREIGN, "0.10")]
    [before] = evaluate(rules, BOOK)  # 12 % abroad: already over
    more = BOOK.plus([Holding("ESH27", "OFFSHORE_FUTURE", "OFFSHORE", D("1000000"), foreign=True)])
    less = BOOK.plus([Holding("ESZ26", "OFFSHORE_FUTURE", "OFFSHORE", D("-3000000"))])
    [after_more] = evaluate(rules, more)
    [after_less] = evaluate(rules, less)
    assert after_more.worse_than(before) and after_more.value == D("0.13")
    assert after_less.value == D("0.09") and not after_less.worse_than(before)
    assert len(less.holdings) == len(BOOK.holdings)  # netted, not appended
