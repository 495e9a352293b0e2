"""Passive breaches at EOD on a real marked book: opened the first day a rule is broken (start
date, deadline), followed while it lasts, acknowledged with a note, cured the first day it is
not; every check kept; every event journaled. And `check_compliance`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from apps.compliance.history import replay_history
from apps.compliance.models import Breach, ComplianceRule, RuleCheck, RuleKind, Severity, Status
from apps.compliance.services import acknowledge_breach, run_compliance, save_rule
from apps.journal.models import Entry, EntryKind
from apps.marketdata.calendar import add_business_days
from apps.positions.mtm import catch_up
from apps.risk.services import setting_values
from tests.support import Book, BookAt

pytestmark = pytest.mark.django_db


# WDOH25 settlements of 3 to 5 Feb 2025 (business days).
CLOSES = (
    (date(2025, 2, 3), "5539.36"),
    (date(2025, 2, 4), "5575.65"),
    (date(2025, 2, 5), "5560.00"),
)
D1, D2, D3 = (day for day, _ in CLOSES)


@pytest.fixture
def fund(book_at: BookAt) -> Book:
    """Long 10 WDOH25 (about R$ 554,000, 0.55 % of the R$ 100 million NAV) from D1."""
    book = book_at(D1, "WDOH25")
    for day, close in CLOSES:
        book.market_day("WDOH25", day, close)
    book.trade("WDOH25", "BUY", "10", D1, price="5529.50")
    return book


def gross_rule(fund: Book, limit: str, severity: str = Severity.HARD) -> ComplianceRule:
    return ComplianceRule.objects.create(
        portfolio=fund.portfolio,
        code="gross",
        name="Gross exposure",
        kind=RuleKind.GROSS_EXPOSURE,
        limit=Decimal(limit),
        severity=severity,
        cure_days=10,
        legal_basis="Fund policy.",
    )


def eod(fund: Book, day: Any) -> list[Any]:
    catch_up(fund.portfolio, day)
    return run_compliance(fund.portfolio, day)


def events(fund: Book) -> list[str]:
    entries = Entry.objects.filter(kind=EntryKind.COMPLIANCE_BREACH, portfolio_id=fund.portfolio.pk)
    return [e.snapshot["event"] for e in entries.order_by("seq")]


def test_a_breach_opens_on_its_first_day_is_followed_and_is_cured(fund: Book) -> None:
    rule = gross_rule(fund, "0.005")

    [d1] = eod(fund, D1)
    assert d1.status == Status.BREACH and d1.value is not None and d1.value > Decimal("0.005")
    breach = Breach.objects.get(rule=rule)
    assert (breach.started_on, breach.state) == (D1, Breach.State.OPEN)
    assert breach.deadline == add_business_days(D1, 10)

    [d2] = eod(fund, D2)
    breach.refresh_from_db()
    assert (breach.started_on, breach.last_seen_on, breach.last_value) == (D1, D2, d2.value)
    assert Breach.objects.count() == 1  # followed, not opened again

    fund.trade("WDOH25", "SELL", "10", D3, price="5560.00")  # the cure: the position closed
    [d3] = eod(fund, D3)
    breach.refresh_from_db()
    assert d3.status == Status.PASS and d3.value == 0
    assert (breach.state, breach.cured_on) == (Breach.State.CURED, D3)
    assert events(fund) == ["opened", "cured"]
    checks = RuleCheck.objects.filter(rule=rule).order_by("date")
    assert [(c.date, c.status) for c in checks] == [
        (D1, Status.BREACH),
        (D2, Status.BREACH),
        (D3, Status.PASS),
    ]

    run_compliance(fund.portfolio, D1)  # an earlier day re-run: no new breach
    assert Breach.objects.count() == 1 and events(fund) == ["opened", "cured"]


def test_a_soft_rule_opens_a_breach_too_and_within_the_limit_nothing_opens(fund: Book) -> None:
    soft = gross_rule(fund, "0.005", Severity.SOFT)
    [result] = eod(fund, D1)
    assert result.status == Status.WARN
    assert Breach.objects.get(rule=soft).state == Breach.State.OPEN

    soft.limit = Decimal("0.10")
    soft.save()
    catch_up(fund.portfolio, D2)
    [within] = run_compliance(fund.portfolio, D2)
    assert within.status == Status.PASS
    assert Breach.objects.get(rule=soft).cured_on == D2


def test_acknowledging_needs_a_note_and_back_office_and_is_journaled(
    fund: Book, bo_carol: Any, viewer_dan: Any
) -> None:
    gross_rule(fund, "0.005")
    eod(fund, D1)
    breach = Breach.objects.get()
    with pytest.raises(ValidationError, match="how and when"):
        acknowledge_breach(breach, by=bo_carol, note="  ")
    with pytest.raises(PermissionDenied):
        acknowledge_breach(breach, by=viewer_dan, note="Will sell.")
    acknowledge_breach(breach, by=bo_carol, note="Selling the WDO tomorrow.")
    breach.refresh_from_db()
    assert breach.state == Breach.State.ACKNOWLEDGED and breach.acknowledged_by == bo_carol
    entry = Entry.objects.filter(kind=EntryKind.COMPLIANCE_BREACH).latest("seq")
    assert entry.snapshot["event"] == "acknowledged" and entry.note == "Selling the WDO tomorrow."
    with pytest.raises(ValidationError, match="acknowledged already"):
        acknowledge_breach(breach, by=bo_carol, note="again")


def test_a_rule_change_is_journaled_old_to_new_with_who_and_why(
    fund: Book, bo_carol: Any, pm_alice: Any
) -> None:
    rule = gross_rule(fund, "0.005")
    rule.refresh_from_db()  # the values as stored, as the admin's form reads them
    old = setting_values(rule, ("limit", "severity"))
    rule.limit = Decimal("0.02")
    with pytest.raises(PermissionDenied):
        save_rule(rule, by=pm_alice, reason="wider", old=old)
    with pytest.raises(ValidationError):
        save_rule(rule, by=bo_carol, reason=" ", old=old)
    save_rule(rule, by=bo_carol, reason="Board raised the risk budget.", old=old)
    entry = Entry.objects.filter(kind=EntryKind.RULE_CHANGED).latest("seq")
    assert entry.actor == bo_carol and entry.note == "Board raised the risk budget."
    assert entry.snapshot["old"]["limit"] == "0.005000"
    assert entry.snapshot["new"]["limit"] == "0.020000" and "limit" in entry.snapshot["changed"]


def test_check_compliance_prints_every_rule_and_exits_1_on_a_hard_breach(fund: Book) -> None:
    gross_rule(fund, "0.005")
    catch_up(fund.portfolio, D2)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_compliance", "--json", "--date", D2.isoformat(), stdout=out)
    assert exit_.value.code == 1
    [row] = json.loads(out.getvalue())["rules"]
    assert {k: row[k] for k in ("portfolio", "rule", "status", "limit")} == {
        "portfolio": fund.portfolio.code,
        "rule": "gross",
        "status": "BREACH",
        "limit": 0.005,
    }
    assert row["value"] > 0.005
    assert not Breach.objects.exists()  # read-only

    ComplianceRule.objects.update(limit=Decimal("0.5"))
    text = StringIO()
    call_command("check_compliance", "--portfolio", fund.portfolio.code, stdout=text)
    assert "gross" in text.getvalue() and "1 rules: 0 hard breach(es), 0 soft." in text.getvalue()


def test_replaying_the_history_gives_what_the_eods_would_have(fund: Book) -> None:
    rule = gross_rule(fund, "0.005")
    fund.trade("WDOH25", "SELL", "10", D3, price="5560.00")
    catch_up(fund.portfolio, D3)

    made = replay_history(fund.portfolio)

    assert made == {"days": 3, "checks": 3, "breaches": 1}
    breach = Breach.objects.get(rule=rule)
    assert (breach.started_on, breach.cured_on, breach.state) == (D1, D3, Breach.State.CURED)
    statuses = list(RuleCheck.objects.filter(rule=rule).order_by("date").values_list("status"))
    assert statuses == [(Status.BREACH,), (Status.BREACH,), (Status.PASS,)]
    assert events(fund) == ["opened", "cured"]
    assert replay_history(fund.portfolio) == {"days": 0, "checks": 0, "breaches": 0}
