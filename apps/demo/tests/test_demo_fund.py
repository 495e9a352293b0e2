"""Demo Macro FIM: the `seed_demo` step that trades the demo fund and marks it with the engine."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from apps.demo.fund import seed_fund
from apps.demo.fund.book import STRATEGIES
from apps.demo.fund.seed import FUND_CODE, FUND_NAME, INITIAL_NAV
from apps.demo.fund.vehicles import DEMO_FUNDS, MANAGED_ACCOUNT_FUND, QUALIFIED_FUND
from apps.demo.options import SeedOptions
from apps.demo.seeders import seed_market
from apps.demo.users import DEMO_USERS, ensure_demo_grants
from apps.journal.services import verify
from apps.marketdata.calendar import business_days_between
from apps.positions.access import visible
from apps.positions.models import (
    CapitalFlow,
    DailyMark,
    FundAccess,
    NavRecord,
    Portfolio,
    Position,
    Trade,
)
from apps.positions.mtm import run_mtm
from apps.positions.services import replay

pytestmark = pytest.mark.django_db

END = date(2025, 6, 30)  # a fixed window, so the test does not move with today's date
SEED = 7
FAST = {
    "DEBUG": True,
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


def _seed(end: date = END) -> str:
    out = StringIO()
    call_command("seed_demo", "--years", "1", "--end", f"{end}", "--seed", f"{SEED}", stdout=out)
    return out.getvalue()


def _options(start: date, end: date) -> SeedOptions:
    return SeedOptions(start=start, end=end, years=1, seed=SEED, reset_passwords=False)


def _history(portfolio: Portfolio) -> tuple[list[Any], list[Any], list[Any]]:
    trades = Trade.objects.filter(portfolio=portfolio).order_by("trade_date", "pk")
    return (
        list(
            trades.values_list(
                "trade_date",
                "strategy__code",
                "instrument__ticker",
                "side",
                "quantity",
                "price",
                "rate",
                "fees",
                "notes",
            )
        ),
        list(NavRecord.objects.filter(portfolio=portfolio).values_list("date", "nav_close")),
        list(CapitalFlow.objects.filter(portfolio=portfolio).values_list("date", "amount")),
    )


# Runs before the module's shared seed exists (tests run in file order).
def test_a_longer_market_continues_the_fund_as_if_seeded_in_one_go(pm_alice, bo_carol) -> None:
    start, middle, end = date(2025, 1, 2), date(2025, 2, 14), date(2025, 4, 15)
    seed_market(_options(start, end))
    with transaction.atomic():
        seed_fund(_options(start, middle))
        output = seed_fund(_options(start, end))
        portfolio = Portfolio.objects.get(code=FUND_CODE)
        continued = _history(portfolio)
        transaction.set_rollback(True)
    assert "after 2025-02-14" in output

    seed_fund(_options(start, end))
    in_one_go = _history(Portfolio.objects.get(code=FUND_CODE))
    assert in_one_go == continued
    trades, navs, flows = in_one_go
    assert [d for d, _ in navs] == business_days_between(start, end)
    assert {t[0] for t in trades} & {date(2025, 2, 14), date(2025, 2, 17)}  # both sides traded
    assert flows  # the first subscription lands inside the window


# --- one 1-year seed shared by the tests below ----------------------------------------------


@dataclass
class Seeded:
    portfolio: Portfolio
    output: str
    days: list[date]


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[Seeded]:
    """`seed_demo --years 1` once for the module, rolled back when the module is done."""
    with django_db_blocker.unblock(), override_settings(**FAST), transaction.atomic():
        output = _seed()
        portfolio = Portfolio.objects.get(code=FUND_CODE)
        days = business_days_between(portfolio.inception_date, END)
        yield Seeded(portfolio, output, days)
        transaction.set_rollback(True)


def test_it_creates_the_fund_and_its_five_strategies(seeded: Seeded) -> None:
    fund = seeded.portfolio
    assert (fund.name, fund.initial_nav) == (FUND_NAME, INITIAL_NAV)
    assert fund.inception_date == date(2024, 7, 1)  # first business day of the window
    assert sorted(fund.strategies.values_list("code", "name")) == sorted(STRATEGIES)
    summary = next(line for line in seeded.output.splitlines() if line.startswith(FUND_NAME))
    nav = NavRecord.objects.get(portfolio=fund, date=END).nav_close
    assert f"NAV R$ {nav:,.2f} on {END}" in summary
    assert f"{Trade.objects.filter(portfolio=fund).count()} trades" in summary
    assert f"{Position.objects.for_portfolio(fund).open().count()} open positions" in summary


def test_every_business_day_has_a_nav_whose_bridge_closes(seeded: Seeded) -> None:
    navs = list(NavRecord.objects.filter(portfolio=seeded.portfolio).order_by("date"))
    assert [n.date for n in navs] == seeded.days
    previous = INITIAL_NAV
    for nav in navs:
        assert nav.nav_open == previous
        bridge = nav.nav_open + nav.pnl_brl + nav.cash_interest_brl + nav.fees_brl + nav.flows_brl
        assert nav.nav_close == bridge == nav.cash_brl + nav.holdings_value_brl, nav.date
        previous = nav.nav_close
    assert Decimal("0.8") < navs[-1].nav_close / INITIAL_NAV < Decimal("1.5")


def test_marks_cover_exactly_the_positions_held_or_traded_each_day(seeded: Seeded) -> None:
    marked: dict[date, dict[int, Decimal]] = defaultdict(dict)
    for position, day, quantity in DailyMark.objects.filter(portfolio=seeded.portfolio).values_list(
        "position_id", "date", "quantity"
    ):
        marked[day][position] = quantity
    traded: dict[date, set[int]] = defaultdict(set)
    trades = Trade.objects.filter(portfolio=seeded.portfolio)
    for position, day in trades.values_list("position_id", "trade_date"):
        traded[day].add(position)
    held: set[int] = set()
    for day in seeded.days:
        assert set(marked[day]) == held | traded[day], day
        held = {position for position, quantity in marked[day].items() if quantity != 0}


def test_the_engine_reproduces_a_day_it_already_marked(seeded: Seeded) -> None:
    fields = ("position_id", "quantity", "price", "pnl_brl", "cum_pnl_brl", "market_value_brl")
    day = seeded.days[-1]
    marks = DailyMark.objects.filter(portfolio=seeded.portfolio, date=day).order_by("position_id")
    before = list(marks.values_list(*fields))
    nav = NavRecord.objects.get(portfolio=seeded.portfolio, date=day)

    again = run_mtm(seeded.portfolio, day).nav
    assert (again.nav_close, again.pnl_brl, again.cash_brl) == (
        nav.nav_close,
        nav.pnl_brl,
        nav.cash_brl,
    )
    assert list(marks.values_list(*fields)) == before


def test_positions_are_the_replay_of_the_trades(seeded: Seeded) -> None:
    assert replay(seeded.portfolio) == []


def test_the_book_spans_the_fund_s_markets_and_nothing_open_has_matured(seeded: Seeded) -> None:
    open_positions = list(
        Position.objects.open().filter(portfolio=seeded.portfolio).select_related("instrument")
    )
    assert len(open_positions) >= 15
    by_kind: dict[str, list[Decimal]] = defaultdict(list)
    for position in open_positions:
        maturity = position.instrument.maturity
        assert maturity is None or maturity > END, position
        by_kind[position.instrument.kind].append(position.quantity)
    assert min(by_kind["DI1"]) < 0 < max(by_kind["DI1"])  # tomado and dado
    assert len(by_kind["NTNB"]) >= 2 and by_kind["LTN"] and by_kind["DAP"]
    assert by_kind["DOL"] and by_kind["WDO"] and by_kind["IND"] and by_kind["WIN"]
    assert by_kind["ETF"] and len(by_kind["OFFSHORE_FUTURE"]) >= 2
    tickers = {p.instrument.ticker[:2] for p in open_positions}
    assert {"ES", "ZN"} <= tickers


def test_history_has_rolls_resizes_closes_flips_and_flows(seeded: Seeded) -> None:
    fund = seeded.portfolio
    notes = list(Trade.objects.filter(portfolio=fund).values_list("notes", flat=True))
    for action in ("roll out", "roll in", "add", "partial close", ": close", "flip"):
        assert any(action in note for note in notes), action
    # Futures leave before their last days: every roll-out trade is ahead of maturity.
    for trade in Trade.objects.filter(notes__contains="roll out").select_related("instrument"):
        maturity = trade.instrument.maturity
        assert maturity is not None and trade.trade_date < maturity
    assert Position.objects.filter(portfolio=fund, quantity=0).exists()
    assert Position.objects.filter(portfolio=fund).exclude(realized_pnl=0).count() >= 5
    kinds = set(CapitalFlow.objects.filter(portfolio=fund).values_list("kind", flat=True))
    assert kinds == {"SUBSCRIPTION", "REDEMPTION"}
    assert Position.objects.filter(portfolio=fund).exclude(thesis="").count() >= 4
    fees = Trade.objects.filter(portfolio=fund).values_list("fees", flat=True)
    assert all(fee > 0 for fee in fees)


def test_seeding_again_adds_nothing(seeded: Seeded) -> None:
    counts = (Trade.objects.count(), NavRecord.objects.count(), DailyMark.objects.count())
    with override_settings(**FAST):
        output = _seed()
    assert "nothing added" in output
    assert (Trade.objects.count(), NavRecord.objects.count(), DailyMark.objects.count()) == counts


def test_the_journal_chain_verifies(seeded: Seeded) -> None:
    assert verify() is None


def test_it_creates_the_two_other_vehicles_marked_through_the_last_day(seeded: Seeded) -> None:
    last_day = seeded.days[-1]
    for fund in (QUALIFIED_FUND, MANAGED_ACCOUNT_FUND):
        portfolio = Portfolio.objects.get(code=fund.code)
        assert sorted(portfolio.strategies.values_list("code", "name")) == sorted(
            fund.script.strategies
        )
        days = business_days_between(portfolio.inception_date, END)
        assert fund.launch_days is not None and len(days) == fund.launch_days
        navs = NavRecord.objects.filter(portfolio=portfolio).order_by("date")
        assert [n.date for n in navs] == days and days[-1] == last_day
        assert Position.objects.for_portfolio(portfolio).open().count() >= 3
    # The qualified fund's strategies are its own, not the flagship's.
    qualified = Portfolio.objects.get(code=QUALIFIED_FUND.code)
    flagship_codes = {code for code, _ in STRATEGIES}
    assert not flagship_codes & set(qualified.strategies.values_list("code", flat=True))


def test_the_cast_sees_the_funds_its_grants_name(seeded: Seeded) -> None:
    seen = {
        spec.username: sorted(
            visible(User.objects.get(username=spec.username)).values_list("code", flat=True)
        )
        for spec in DEMO_USERS
    }
    every = sorted(f.code for f in DEMO_FUNDS)
    assert seen == {
        "pm_alice": every,
        "cio_bob": ["demo-macro"],
        "bo_carol": every,
        "ops_erin": every,
        "viewer_dan": ["demo-macro", "demo-macro-qi"],
        "bo_mae": ["demo-pension"],
    }
    # A re-seed puts a changed grant back (and adds nothing else).
    bob = User.objects.get(username="cio_bob")
    FundAccess.objects.create(user=bob, portfolio=Portfolio.objects.get(code="demo-pension"))
    ensure_demo_grants()
    assert list(visible(bob).values_list("code", flat=True)) == ["demo-macro"]


def test_every_fund_has_its_rules_and_a_check_of_each_on_every_marked_day(
    seeded: Seeded,
) -> None:
    from apps.compliance.models import Breach, ComplianceRule, RuleCheck
    from apps.marketdata.models import Instrument, InstrumentKind

    for fund in Portfolio.objects.filter(code__in=[f.code for f in DEMO_FUNDS]):
        rules = ComplianceRule.objects.filter(portfolio=fund, active=True).count()
        assert rules >= 8, fund.code
        marked = NavRecord.objects.filter(portfolio=fund).count()
        assert RuleCheck.objects.filter(portfolio=fund).count() == rules * marked, fund.code
    bonds = Instrument.objects.filter(kind__in=[InstrumentKind.LTN, InstrumentKind.NTNB])
    assert bonds.exists() and not bonds.filter(issuer=None).exists()
    assert not Instrument.objects.filter(kind="OFFSHORE_FUTURE", foreign=False).exists()
    # The breaches shown are the engine's: each one's first day is its first breaching check.
    for breach in Breach.objects.all():
        first = (
            RuleCheck.objects.filter(rule=breach.rule)
            .exclude(status__in=["PASS", "NA"])
            .order_by("date")
            .first()
        )
        assert first is not None and first.date <= breach.started_on


def test_check_compliance_on_the_demo_evaluates_eight_rules_or_more_per_fund(
    seeded: Seeded,
) -> None:
    out = StringIO()
    try:
        call_command("check_compliance", "--json", stdout=out)
    except SystemExit as stop:  # a hard breach on the last day: exit 1, the JSON printed
        assert stop.code == 1
    rows = json.loads(out.getvalue())["rules"]
    per_fund = Counter(row["portfolio"] for row in rows)
    assert set(per_fund) >= {f.code for f in DEMO_FUNDS} and min(per_fund.values()) >= 8
    assert set(rows[0]) >= {"portfolio", "rule", "value", "limit", "status"}
