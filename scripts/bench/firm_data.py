"""The scale case's firm: 200 funds × 50 positions over 2,000 instruments, marked through the
day before the measured EOD, with a year of settlements behind it (the VaR window).

Everything is written in bulk (`core.bulk.insert_values`: COPY on PostgreSQL) with values of
the shape the engine writes, so the setup takes seconds and only the EOD is measured. The
market lives in 2020–21, clear of the demo (2022–24) and of the other modules (2025 and the
last year). Idempotent: a second call finds the funds and builds nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Field

from scripts.bench import Scale

SEED = 17
FUNDS, POSITIONS, INSTRUMENTS = 200, 50, 2_000
STRATEGIES = 5
DAY = date(2021, 6, 1)  # the EOD measured (a Tuesday); the funds are marked through 31/05
HISTORY = 253  # business days of settlements up to DAY: the VaR window of 252 moves
PREFIX = "firm"  # portfolio codes firmf000 … (firms000 … at small scale); equities CNV0000 …
NAV = Decimal("200000000.00")
CENT = Decimal("0.01")
CDI = Decimal("0.0415")  # mid-2021
PTAX = Decimal("5.2000")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@dataclass(frozen=True)
class Firm:
    funds: list[int]  # portfolio ids
    day: date
    previous: date
    instruments: int
    positions: int

    @property
    def label(self) -> str:
        return (
            f"{len(self.funds)} funds × {self.positions // max(1, len(self.funds))} positions "
            f"over {self.instruments:,} instruments"
        )


def build_firm(scale: Scale) -> Firm:
    """The funds, their book marked through the day before `DAY`, and the market's year."""
    from apps.marketdata.calendar import business_days_between, previous_business_day
    from apps.positions.models import Portfolio

    previous = previous_business_day(DAY)
    n_funds, n_instruments = scale.size(FUNDS), scale.size(INSTRUMENTS)
    codes = [f"{PREFIX}{scale.name[0]}{i:03d}" for i in range(n_funds)]
    existing = list(Portfolio.objects.filter(code__in=codes).values_list("pk", flat=True))
    if len(existing) == n_funds:
        return Firm(existing, DAY, previous, n_instruments, n_funds * POSITIONS)
    rng = random.Random(SEED)
    days = business_days_between(DAY - timedelta(days=HISTORY * 7 // 5 + 10), DAY)[-HISTORY:]
    instruments = _instruments(n_instruments)
    _market(instruments, days, rng)
    funds = _funds(codes, instruments, previous, rng)
    return Firm(funds, DAY, previous, len(instruments), n_funds * POSITIONS)


# --- the market ---------------------------------------------------------------------------------


def _future_tickers() -> list[str]:
    """The live contracts of mid-2021: DI1 quarterly to 2031, LTN, WDO/DOL, IND/WIN."""
    di1 = [f"DI1{m}{y:02d}" for y in range(22, 32) for m in "FJNV"]
    ltn = [f"LTN_{y}{m}01" for y in range(2022, 2027) for m in ("01", "07")]
    fx = ["WDON21", "WDOQ21", "DOLN21", "DOLQ21"]
    equity_index = ["INDQ21", "INDV21", "WINQ21", "WINV21"]
    return di1 + ltn + fx + equity_index


def _instruments(count: int) -> list[Any]:
    from apps.marketdata.contracts import parse_ticker
    from apps.marketdata.models import Instrument

    futures = _future_tickers()[: max(1, count // 4)]
    rows = []
    for ticker in futures:
        spec = parse_ticker(ticker)
        rows.append(
            Instrument(
                ticker=ticker,
                name=spec.name,
                kind=spec.kind,
                asset_class=spec.asset_class,
                currency=spec.currency,
                multiplier=spec.multiplier,
                maturity=spec.maturity,
                quote_convention=spec.quote_convention,
                underlying=spec.underlying,
            )
        )
    rows += [
        Instrument(
            ticker=f"CNV{i:04d}", name=f"Bench equity {i:04d}", kind="EQUITY", asset_class="EQUITY"
        )
        for i in range(count - len(rows))
    ]
    Instrument.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Instrument.objects.filter(ticker__in=[r.ticker for r in rows]).order_by("ticker"))


def _market(instruments: list[Any], days: list[date], rng: random.Random) -> None:
    """A random walk per instrument over `days` (rates for DI1/LTN, prices otherwise), CDI and
    PTAX every day; written with COPY."""
    from apps.core.bulk import insert_values
    from apps.marketdata import pricing
    from apps.marketdata.calendar import business_days
    from apps.marketdata.models import Fixing, SettlementPrice

    SettlementPrice.objects.filter(
        instrument__in=instruments, date__gte=days[0], date__lte=days[-1]
    ).delete()
    names = ("instrument", "date", "source", "price", "rate", "reason", "created_at")
    fields = [f for n in names if isinstance(f := SettlementPrice._meta.get_field(n), Field)]
    stamp = datetime.combine(days[-1], time(19), tzinfo=SAO_PAULO)
    rows: list[tuple[Any, ...]] = []
    for instrument in instruments:
        kind = instrument.kind
        level = {
            "DI1": rng.uniform(0.05, 0.09),
            "LTN": rng.uniform(0.05, 0.09),
            "WDO": 5.3,
            "DOL": 5.3,
            "IND": 120_000.0,
            "WIN": 120_000.0,
        }.get(kind, rng.uniform(10, 80))
        for day in days:
            if kind in ("DI1", "LTN"):
                level = max(0.02, level + rng.gauss(0, 0.0006))
                rate = Decimal(round(level, 5)).quantize(Decimal("0.00001"))
                if kind == "DI1":
                    price = pricing.di1_pu(rate, business_days(day, instrument.maturity))
                else:
                    price = pricing.ltn_pu(rate, day, instrument.maturity)
                rows.append((instrument.pk, day, "B3", price, rate, "", stamp))
                continue
            level *= math.exp(rng.gauss(0, 0.012 if kind in ("WDO", "DOL") else 0.02))
            places = 1 if kind in ("WDO", "DOL") else 0 if kind in ("IND", "WIN") else 2
            scale = 1000 if kind in ("WDO", "DOL") else 1
            price = Decimal(str(round(level * scale, places)))
            rows.append((instrument.pk, day, "B3", price, None, "", stamp))
    insert_values(SettlementPrice, fields, rows)
    Fixing.objects.bulk_create(
        [Fixing(index="CDI", date=d, value=CDI, source="BENCH") for d in days]
        + [Fixing(index="PTAX_SELL", date=d, value=PTAX, source="BENCH") for d in days],
        ignore_conflicts=True,
    )


# --- the funds ----------------------------------------------------------------------------------


def _funds(codes: list[str], instruments: list[Any], opened: date, rng: random.Random) -> list[int]:
    """Each fund: 5 strategies, 50 positions opened by one trade on `opened` (its inception),
    marked that day, its NAV closing, and the EOD of that day recorded as done."""
    from django.contrib.auth.models import User

    from apps.marketdata.queries import effective_prices
    from apps.ops.models import PipelineRun
    from apps.positions.models import Portfolio, Position, Strategy

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    Portfolio.objects.bulk_create(
        [
            Portfolio(code=c, name=f"Bench firm {c}", inception_date=opened, initial_nav=NAV)
            for c in codes
        ],
        ignore_conflicts=True,
    )
    funds = list(Portfolio.objects.filter(code__in=codes).order_by("code"))
    Strategy.objects.bulk_create(
        [
            Strategy(portfolio=f, code=f"s{i}", name=f"Strategy {i}")
            for f in funds
            for i in range(STRATEGIES)
        ],
        ignore_conflicts=True,
    )
    strategies: dict[int, list[Any]] = {}
    for strategy in Strategy.objects.filter(portfolio__in=funds).order_by("code"):
        strategies.setdefault(strategy.portfolio_id, []).append(strategy)
    prices = effective_prices(opened, [i.pk for i in instruments])
    rates = [i for i in instruments if i.kind in ("DI1", "LTN")]
    others = [i for i in instruments if i.kind not in ("DI1", "LTN")]
    per_fund = min(POSITIONS, len(instruments))
    n_rates = min(len(rates), per_fund // 5)
    books = {
        fund.pk: rng.sample(rates, n_rates) + rng.sample(others, per_fund - n_rates)
        for fund in funds
    }
    positions = [
        Position(
            portfolio=fund,
            strategy=strategies[fund.pk][k % STRATEGIES],
            instrument=instrument,
            quantity=_quantity(instrument, rng),
            avg_cost=prices[instrument.pk].price,
            opened_date=opened,
        )
        for fund in funds
        for k, instrument in enumerate(books[fund.pk])
    ]
    Position.objects.bulk_create(positions, batch_size=5000)
    stored = Position.objects.filter(portfolio__in=funds).select_related("instrument")
    _trades_marks_navs(list(stored), prices, opened, user)
    now = datetime.combine(opened, time(19), tzinfo=SAO_PAULO)
    PipelineRun.objects.bulk_create(
        [
            PipelineRun(
                pipeline="eod",
                business_date=opened,
                portfolio=fund,
                status="SUCCESS",
                started_at=now,
                finished_at=now,
                triggered_by="bench",
            )
            for fund in funds
        ]
    )
    return [f.pk for f in funds]


def _quantity(instrument: Any, rng: random.Random) -> Decimal:
    sign = rng.choice((1, -1))
    if instrument.kind == "DI1":
        return Decimal(sign * rng.randrange(10, 500))
    if instrument.kind in ("WDO", "DOL", "IND", "WIN"):
        return Decimal(sign * rng.randrange(5, 100))
    if instrument.kind == "LTN":
        return Decimal(rng.randrange(1000, 20000))
    return Decimal(rng.randrange(100, 50000, 100))


def _trades_marks_navs(positions: list[Any], prices: dict[int, Any], day: date, user: Any) -> None:
    """One opening trade per position, its mark of `day` (futures hold no value; cash
    instruments hold price × quantity) and each fund's NAV of `day` (= cash + holdings)."""
    from apps.core.bulk import insert_rows
    from apps.positions.models import DailyMark, NavRecord, Side, Trade

    trades, marks = [], []
    holdings: dict[int, Decimal] = {}
    for position in positions:
        instrument, qty = position.instrument, position.quantity
        quote = prices[instrument.pk]
        trades.append(
            Trade(
                portfolio_id=position.portfolio_id,
                strategy_id=position.strategy_id,
                instrument=instrument,
                position=position,
                side=Side.BUY if qty > 0 else Side.SELL,
                quantity=abs(qty),
                price=quote.price,
                trade_date=day,
                settlement_date=day,
                created_by=user,
            )
        )
        future = instrument.is_future
        notional = (quote.price * qty * instrument.multiplier).quantize(CENT)
        value = Decimal(0) if future else notional
        holdings[position.portfolio_id] = holdings.get(position.portfolio_id, Decimal(0)) + value
        marks.append(
            DailyMark(
                position=position,
                portfolio_id=position.portfolio_id,
                date=day,
                quantity=qty,
                price=quote.price,
                rate=quote.rate,
                notional_brl=abs(notional),
                exposure_brl=notional,
                market_value_brl=value,
                cost_basis_brl=value,
                dv01_brl=(-notional * Decimal("0.00009")).quantize(CENT)
                if quote.rate is not None
                else Decimal(0),
                pnl_price_brl=Decimal(0),
                pnl_brl=Decimal(0),
                cash_flow_brl=Decimal(0),
                realized_pnl_brl=Decimal(0),
                unrealized_pnl_brl=Decimal(0),
                cum_pnl_brl=Decimal(0),
            )
        )
    Trade.objects.bulk_create(trades, batch_size=5000)
    insert_rows(DailyMark, marks)
    NavRecord.objects.bulk_create(
        [
            NavRecord(
                portfolio_id=fund,
                date=day,
                nav_open=NAV,
                pnl_brl=Decimal(0),
                cash_interest_brl=Decimal(0),
                fees_brl=Decimal(0),
                flows_brl=Decimal(0),
                nav_close=NAV,
                cash_brl=NAV - value,
                holdings_value_brl=value,
            )
            for fund, value in holdings.items()
        ]
    )
