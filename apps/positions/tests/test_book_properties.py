"""Properties of the book over random trade sequences: replay = stored positions, the daily P&L
adds up to realised + unrealised, and the NAV bridge closes to the cent every day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.marketdata.calendar import business_days_between
from apps.marketdata.models import Fixing, Instrument, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import DailyMark, NavRecord, Position
from apps.positions.mtm import catch_up
from apps.positions.services import TradeTicket, record_flow, record_trade, replay
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory

DAYS = business_days_between(date(2025, 2, 3), date(2025, 2, 12))
TICKERS = ("DI1F27", "WDOH25", "INDJ25", "SPY")
BASE = {"DI1F27": 76800, "WDOH25": 5800, "INDJ25": 126000, "SPY": 600}
STEP = {"DI1F27": 25, "WDOH25": 20, "INDJ25": 400, "SPY": 3}

trade = st.tuples(
    st.integers(0, len(DAYS) - 1),  # day
    st.sampled_from(TICKERS),
    st.sampled_from(("BUY", "SELL")),
    st.integers(1, 40),  # quantity
    st.integers(-3, 3),  # price offset in steps from the day's settlement
    st.integers(0, 1),  # strategy
)
flow = st.tuples(st.integers(1, len(DAYS) - 1), st.booleans(), st.integers(1, 50))


def _market(moves: list[int]) -> None:
    InstrumentFactory.create(ticker="DI1F27")
    InstrumentFactory.create(ticker="WDOH25")
    InstrumentFactory.create(ticker="INDJ25")
    spy = Instrument.objects.create(
        ticker="SPY", kind="ETF", asset_class="OFFSHORE", currency="USD", name="SPY"
    )
    assert spy.pk
    rows = []
    for i, day in enumerate(DAYS):
        for ticker in TICKERS:
            price = BASE[ticker] + STEP[ticker] * moves[i] * (1 if ticker != "WDOH25" else -1)
            rows.append(
                SettlementPrice(
                    instrument=Instrument.objects.get(ticker=ticker),
                    date=day,
                    source="B3",
                    price=Decimal(price),
                )
            )
        Fixing.objects.create(index="CDI", date=day, value=Decimal("0.1315"))
        ptax = Decimal("5.8000") + Decimal("0.0125") * moves[i]
        Fixing.objects.create(index="PTAX_SELL", date=day, value=ptax)
    SettlementPrice.objects.bulk_create(rows)


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(st.integers(-4, 4), min_size=len(DAYS), max_size=len(DAYS)),
    trades=st.lists(trade, min_size=1, max_size=15),
    flows=st.lists(flow, max_size=3),
)
def test_book_invariants_hold_for_random_trades(pm_alice, moves, trades, flows) -> None:
    with transaction.atomic():
        _market(moves)
        portfolio = PortfolioFactory.create(code="prop", inception_date=DAYS[0])
        strategies = [
            StrategyFactory.create(portfolio=portfolio, code="a"),
            StrategyFactory.create(portfolio=portfolio, code="b"),
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
                    fees=Decimal("1.23") * qty,
                ),
                by=pm_alice,
            )
        for day_i, subscription, millions in flows:
            record_flow(
                portfolio,
                day=DAYS[day_i],
                kind="SUBSCRIPTION" if subscription else "REDEMPTION",
                amount=Decimal(millions) * 100_000,
                by=pm_alice,
            )
        catch_up(portfolio, DAYS[-1])

        assert replay(portfolio) == []
        for position in Position.objects.filter(portfolio=portfolio):
            marks = list(DailyMark.objects.filter(position=position).order_by("date"))
            running = Decimal("0")
            for mark in marks:
                running += mark.pnl_brl
                assert mark.cum_pnl_brl == running
                assert mark.realized_pnl_brl + mark.unrealized_pnl_brl == running
            assert marks[-1].quantity == position.quantity or position.quantity == 0
        navs = list(NavRecord.objects.filter(portfolio=portfolio).order_by("date"))
        assert [n.date for n in navs] == DAYS
        for before, after in pairwise(navs):
            assert after.nav_open == before.nav_close
        for nav in navs:
            bridge = nav.nav_open + nav.pnl_brl + nav.cash_interest_brl + nav.fees_brl
            assert nav.nav_close == bridge + nav.flows_brl
            assert nav.nav_close == nav.cash_brl + nav.holdings_value_brl
        transaction.set_rollback(True)
