"""Consolidated risk: the funds revalued together equal one portfolio holding all their
positions, to the cent; never the sum of their VaRs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.cache import bump
from apps.positions.models import NavRecord, Portfolio, Strategy, Trade
from apps.positions.mtm import catch_up
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.risk.firm import consolidated_risk, firm_risk, latest_common_day
from apps.risk.services import compute_report
from apps.risk.tests.support import DAYS, LAST, build_two_funds
from tests.support import Book, BookAt

CENT = 0.005  # "to the cent": float results within half a cent


@pytest.fixture
def two_funds(book_at: BookAt) -> tuple[Portfolio, Portfolio]:
    return build_two_funds(book_at)


def _one_portfolio(funds: tuple[Portfolio, ...]) -> tuple[Portfolio, dict[str, str]]:
    """A portfolio holding every trade of `funds`, each fund's strategies kept apart (so each
    position is the same position); returns it and its strategy code → the firm's name."""
    whole = PortfolioFactory.create(
        code="whole",
        inception_date=DAYS[0],
        initial_nav=sum((f.initial_nav for f in funds), Decimal(0)),
    )
    names: dict[str, str] = {}
    for fund in funds:
        strategies: dict[int, Strategy] = {}
        for strategy in fund.strategies.all():
            code = f"{fund.code}-{strategy.code}"
            strategies[strategy.pk] = StrategyFactory.create(portfolio=whole, code=code)
            names[code] = f"{fund.code}/{strategy.code}"
        for trade in Trade.objects.filter(portfolio=fund).order_by("pk"):
            book = Book(whole, strategies[trade.strategy_id], trade.created_by)
            book.trade(
                trade.instrument.ticker,
                trade.side,
                str(trade.quantity),
                trade.trade_date,
                strategy=strategies[trade.strategy_id],
                **({"rate": str(trade.rate)} if trade.rate is not None else {}),
                **({"price": str(trade.price)} if trade.rate is None else {}),
            )
    catch_up(whole, LAST)
    return whole, names


def test_consolidated_risk_equals_one_portfolio_holding_every_position(
    two_funds: tuple[Portfolio, Portfolio],
) -> None:
    a, b = two_funds
    whole, names = _one_portfolio(two_funds)
    firm = consolidated_risk([a, b], LAST)
    one = compute_report(whole, LAST)

    assert firm.positions == one.positions == 10
    for metric in ("var95", "var99", "es975", "pvar99", "dv01_total", "gross", "net"):
        assert getattr(firm, metric) == pytest.approx(getattr(one, metric), abs=CENT), metric
    assert firm.var99_date == one.var99_date
    assert firm.pnl_history == pytest.approx(one.pnl_history, abs=CENT)
    assert firm.dv01_ladder == one.dv01_ladder
    assert {s.code: s.pnl for s in firm.stress} == {s.code: s.pnl for s in one.stress}
    renamed = {names[code]: value for code, value in one.component_var99.items()}
    assert firm.component_var99 == pytest.approx(renamed, abs=CENT)
    navs = NavRecord.objects.filter(portfolio__in=[a, b], date=LAST)
    assert Decimal(str(firm.nav)) == sum((n.nav_close for n in navs), Decimal(0))


def test_it_is_diversified_below_the_sum_of_standalone_vars(
    two_funds: tuple[Portfolio, Portfolio],
) -> None:
    a, b = two_funds
    result = firm_risk([a, b], LAST)
    alone = {code: compute_report(p, LAST) for code, p in (("A", a), ("B", b))}
    by_code = {f.portfolio_id: f for f in result.funds}

    assert by_code[a.pk].var99 == pytest.approx(alone["A"].var99, abs=CENT)
    assert by_code[b.pk].var99 == pytest.approx(alone["B"].var99, abs=CENT)
    assert result.report.var99 <= result.standalone_var99
    assert result.report.es975 <= result.standalone_es975  # ES is subadditive
    assert result.diversification == pytest.approx(
        alone["A"].var99 + alone["B"].var99 - result.report.var99, abs=CENT
    )
    # The funds' components add up to the firm VaR; B, partly hedging A, adds less than alone.
    total = sum(f.component_var99 for f in result.funds)
    assert total == pytest.approx(result.report.var99, abs=0.02)
    assert by_code[b.pk].component_var99 < by_code[b.pk].var99


def test_a_fund_without_a_nav_on_the_day_is_named(
    two_funds: tuple[Portfolio, Portfolio],
) -> None:
    a, b = two_funds
    late = PortfolioFactory.create(code="fund-late", inception_date=LAST)
    with pytest.raises(Exception, match="fund-late"):
        consolidated_risk([a, b, late], LAST)
    assert latest_common_day([a, b]) == LAST
    assert latest_common_day([a, b, late]) is None


@pytest.mark.django_db(transaction=True)  # reads inside a transaction are never cached
def test_the_result_is_cached_under_the_funds_versions(
    two_funds: tuple[Portfolio, Portfolio], django_assert_num_queries: Any
) -> None:
    a, b = two_funds
    first = firm_risk([a, b], LAST)
    with django_assert_num_queries(2):  # the data versions and the stress scenarios' stamp
        again = firm_risk([b, a], LAST)  # the same funds in any order: the same entry
    assert again.report.var99 == first.report.var99
    bump(b.pk, refresh=False)  # a write to fund B: a new key, computed again
    with CaptureQueriesContext(connection) as rebuilt:
        firm_risk([a, b], LAST)
    assert len(rebuilt) > 2
