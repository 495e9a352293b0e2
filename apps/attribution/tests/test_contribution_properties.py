"""For random books, contributions by strategy, asset class and instrument each add up to the
total P&L (exactly, in BRL) and to the TWR (linked), for every period."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.attribution.queries import PERIODS, build_attribution, resolve_period
from apps.marketdata.models import Instrument
from apps.positions.models import NavRecord
from apps.positions.mtm import catch_up
from apps.positions.services import TradeTicket, record_flow, record_trade
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.positions.tests.test_book_properties import BASE, DAYS, STEP, _market, flow, trade


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(st.integers(-4, 4), min_size=len(DAYS), max_size=len(DAYS)),
    trades=st.lists(trade, min_size=1, max_size=12),
    flows=st.lists(flow, max_size=2),
    start=st.integers(0, len(DAYS) - 1),
)
def test_contributions_add_up(pm_alice, moves, trades, flows, start) -> None:
    with transaction.atomic():
        _market(moves)
        portfolio = PortfolioFactory.create(code="attr", inception_date=DAYS[0])
        strategies = [
            StrategyFactory.create(portfolio=portfolio, code="a", name="A"),
            StrategyFactory.create(portfolio=portfolio, code="b", name="B"),
        ]
        for day_i, ticker, side, qty, offset, strat in sorted(trades, key=lambda t: t[0]):
            base = BASE[ticker] + STEP[ticker] * moves[day_i]
            record_trade(
                TradeTicket(
                    portfolio=portfolio,
                    strategy=strategies[strat],
                    instrument=Instrument.objects.get(ticker=ticker),
                    side=side,
                    quantity=Decimal(qty),
                    trade_date=DAYS[day_i],
                    price=Decimal(base + STEP[ticker] * offset),
                    fees=Decimal("2.50") * qty,
                ),
                by=pm_alice,
            )
        for day_i, subscription, amount in flows:
            record_flow(
                portfolio,
                day=DAYS[day_i],
                by=pm_alice,
                amount=Decimal(amount) * 10000,
                kind="SUBSCRIPTION" if subscription else "REDEMPTION",
            )
        catch_up(portfolio, DAYS[-1])
        periods = [resolve_period(portfolio, key) for key in PERIODS if key != "custom"]
        periods.append(resolve_period(portfolio, "custom", start=DAYS[start]))
        for period in periods:
            result = build_attribution(portfolio, period)
            navs = NavRecord.objects.filter(
                portfolio=portfolio, date__range=(period.start, period.end)
            )
            expected = sum(n.pnl_brl + n.cash_interest_brl + n.fees_brl for n in navs)
            assert result.total_pnl == expected
            for groups in (
                result.by_strategy,
                result.by_asset_class,
                result.by_instrument,
                result.by_source,
            ):
                assert sum(g.pnl for g in groups) == expected
                assert sum(g.contribution for g in groups) == pytest.approx(result.twr, abs=1e-9)
        transaction.set_rollback(True)
