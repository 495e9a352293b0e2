"""The morning pack's compliance facts: the fund's open breaches (from the EOD), none once
cured."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.briefings.facts import build_facts
from apps.compliance.models import ComplianceRule, RuleKind, Severity
from apps.compliance.services import run_compliance
from apps.positions.mtm import catch_up
from tests.support import BookAt

pytestmark = pytest.mark.django_db
D1, D2, D3 = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)


def test_the_pack_lists_the_open_breaches_with_their_numbers(book_at: BookAt) -> None:
    book = book_at(D1, "WDOH25")
    for day, close in ((D1, "5539.36"), (D2, "5575.65"), (D3, "5560.00")):
        book.market_day("WDOH25", day, close)
    book.trade("WDOH25", "BUY", "10", D1, price="5529.50")
    ComplianceRule.objects.create(
        portfolio=book.portfolio,
        code="gross",
        name="Gross exposure ≤ 0.5 %",
        kind=RuleKind.GROSS_EXPOSURE,
        limit=Decimal("0.005"),
        severity=Severity.HARD,
        legal_basis="Fund policy.",
    )
    catch_up(book.portfolio, D1)
    run_compliance(book.portfolio, D1)

    facts = build_facts(book.portfolio, D2)["compliance"]

    assert facts["open_breaches"] == 1
    [breach] = facts["breaches"]
    assert breach["rule"] == "Gross exposure ≤ 0.5 %" and breach["severity"] == "HARD"
    assert breach["since"] == D1.isoformat() and breach["limit"] == 0.5
    assert breach["value"] is not None and breach["value"] > 0.5 and breach["unit"] == "% NAV"

    book.trade("WDOH25", "SELL", "10", D2, price="5575.65")
    catch_up(book.portfolio, D2)
    run_compliance(book.portfolio, D2)
    assert build_facts(book.portfolio, D3)["compliance"] == {"open_breaches": 0, "breaches": []}
