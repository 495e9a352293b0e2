"""Every rule kind's passive breach: the EOD's breach logic (`follow_breach`) on the engine's
results for a book that breaks the rule, then for one that does not: opened with its start
date and deadline, followed, cured, journaled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.compliance.engine import Book, RuleSpec, evaluate
from apps.compliance.models import Breach, ComplianceRule, RuleKind, Severity
from apps.compliance.services import follow_breach
from apps.compliance.tests.test_engine import BOOK, CASES, NAV
from apps.journal.models import Entry, EntryKind
from apps.marketdata.calendar import add_business_days
from apps.positions.tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db
D1, D2, D3 = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)
CLEAN = Book(holdings=(), nav=NAV, cash=NAV, margin=Decimal(0), margin_note="B3")
KINDS = [(kind, scope, over) for kind, scope, _, _, over in CASES] + [
    (RuleKind.MIN_CASH, (), "0.10")
]


@pytest.mark.parametrize(("kind", "scope", "limit"), KINDS)
def test_a_breach_of_each_kind_opens_is_followed_and_is_cured(
    kind: str, scope: tuple[str, ...], limit: str
) -> None:
    rule = ComplianceRule.objects.create(
        portfolio=PortfolioFactory.create(),
        code="rule",
        name="A rule",
        kind=kind,
        scope=",".join(scope),
        limit=Decimal(limit),
        severity=Severity.HARD,
        cure_days=5,
        legal_basis="Test.",
    )
    spec = RuleSpec(rule.code, rule.name, kind, scope, rule.limit, rule.severity)
    open_: dict[int, Breach] = {}
    for day, book in ((D1, BOOK), (D2, BOOK), (D3, CLEAN)):
        [result] = evaluate([spec], book)
        follow_breach(open_, rule, result, day, by=None)
        if day < D3:
            assert result.breaches(), result.detail
    breach = Breach.objects.get(rule=rule)
    assert (breach.started_on, breach.deadline) == (D1, add_business_days(D1, 5))
    assert (breach.state, breach.cured_on, breach.last_seen_on) == ("CURED", D3, D3)
    events = Entry.objects.filter(kind=EntryKind.COMPLIANCE_BREACH).order_by("seq")
    assert [e.snapshot["event"] for e in events] == ["opened", "cured"]
