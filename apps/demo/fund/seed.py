"""`seed_demo` step: the demo funds (Demo Macro FIM, the flagship; a qualified-investor fund; a
managed account), traded through the real services and marked by the engine.

Nothing financial is written here except through `record_trade`, `record_flow`,
`update_position_plan` and `run_mtm`: the P&L and the NAV are whatever the MTM engine makes of
the plan's trades over the demo market.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from apps.demo.fund.plan import Contract, DayPlan, Market, Quote, plan_fund
from apps.demo.fund.vehicles import DEMO_FUNDS, FLAGSHIP_FUND, DemoFund
from apps.demo.options import SeedOptions
from apps.marketdata import pricing
from apps.marketdata.calendar import business_days_between
from apps.marketdata.models import (
    Fixing,
    FixingIndex,
    Instrument,
    PriceSource,
    QuoteConvention,
    SettlementPrice,
)
from apps.positions.models import NavRecord, Portfolio, Position, Strategy, Trade
from apps.positions.mtm import last_mark_date, run_mtm
from apps.positions.services import (
    TradeTicket,
    record_flow,
    record_trade,
    update_position_plan,
)

FUND_CODE = FLAGSHIP_FUND.code
FUND_NAME = FLAGSHIP_FUND.name
INITIAL_NAV = FLAGSHIP_FUND.initial_nav
MANAGER, BACK_OFFICE = "pm_alice", "bo_carol"
_BROKERS = {"OFFSHORE_FUTURE": "Demo FCM (CME)"}
_B3_BROKER = "Demo Corretora"


class DemoFundError(RuntimeError):
    """The demo fund cannot be seeded (missing users or market days)."""


def seed_fund(options: SeedOptions) -> str:
    """Create the demo funds and trade and mark each through the last day of the demo market."""
    return "\n".join(seed_one(fund, options) for fund in DEMO_FUNDS)


def seed_one(fund: DemoFund, options: SeedOptions) -> str:
    """Create one demo fund and trade and mark it through the last day of the demo market."""
    manager, back_office = _user(MANAGER), _user(BACK_OFFICE)
    window = business_days_between(options.start, options.end)
    if not window:
        return f"{fund.name}: no business day in {options.start} .. {options.end}, nothing to do."
    with transaction.atomic():
        launch = len(window) - fund.launch_days if fund.launch_days else 0
        portfolio = _ensure_fund(fund, window[max(0, launch)])
        days = business_days_between(portfolio.inception_date, options.end)
        last = last_mark_date(portfolio)
        if not days or (last is not None and last >= days[-1]):
            return _summary(portfolio, "already marked through the last market day, nothing added")
        trades_before = Trade.objects.filter(portfolio=portfolio).count()
        recorder = _Recorder(portfolio, manager=manager, back_office=back_office)
        marked = 0
        # The plan always starts at inception (it is cheap and in memory); days already marked
        # were traded by an earlier run and are only replayed to rebuild the plan's state.
        for plan in plan_fund(_load_market(days), seed=options.seed, script=fund.script):
            if last is not None and plan.day <= last:
                continue
            recorder.record(plan)
            run_mtm(portfolio, plan.day)
            marked += 1
        if last is None:
            return _summary(portfolio, f"marked {marked} days from inception")
        added = Trade.objects.filter(portfolio=portfolio).count() - trades_before
        return _summary(portfolio, f"marked {marked} new days after {last} (+{added} trades)")


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise DemoFundError(f"{username} does not exist: seed the demo users first.") from None


def _ensure_fund(fund: DemoFund, inception: date) -> Portfolio:
    portfolio, _ = Portfolio.objects.get_or_create(
        code=fund.code,
        defaults={"name": fund.name, "inception_date": inception, "initial_nav": fund.initial_nav},
    )
    for code, name in fund.script.strategies:
        Strategy.objects.get_or_create(portfolio=portfolio, code=code, defaults={"name": name})
    return portfolio


def _load_market(days: list[date]) -> Market:
    """The DEMO settlements, contract terms and PTAX of `days`, in three queries."""
    window = (days[0], days[-1])
    quotes: dict[date, dict[str, Quote]] = {day: {} for day in days}
    rows = SettlementPrice.objects.filter(source=PriceSource.DEMO, date__range=window)
    for ticker, day, price, rate in rows.values_list("instrument__ticker", "date", "price", "rate"):
        if day in quotes:
            quotes[day][ticker] = Quote(price, rate)
    missing = [day for day in days if not quotes[day]]
    if missing:
        raise DemoFundError(
            f"The demo market has no prices on {missing[0]} ({len(missing)} days missing): "
            "seed the market first."
        )
    tickers = {ticker for day_quotes in quotes.values() for ticker in day_quotes}
    contracts = {
        ticker: Contract(ticker, kind, maturity, convention == QuoteConvention.RATE)
        for ticker, kind, maturity, convention in Instrument.objects.filter(
            ticker__in=tickers
        ).values_list("ticker", "kind", "maturity", "quote_convention")
    }
    ptax = dict(
        Fixing.objects.filter(index=FixingIndex.PTAX_SELL, date__range=window).values_list(
            "date", "value"
        )
    )
    return Market(days=days, quotes=quotes, contracts=contracts, ptax=ptax)


@dataclass
class _Recorder:
    portfolio: Portfolio
    manager: User
    back_office: User

    def __post_init__(self) -> None:
        self.strategies = {s.code: s for s in self.portfolio.strategies.all()}
        self.instruments: dict[str, Instrument] = {}

    def instrument(self, ticker: str) -> Instrument:
        if ticker not in self.instruments:
            self.instruments[ticker] = Instrument.objects.get(ticker=ticker)
        return self.instruments[ticker]

    def record(self, plan: DayPlan) -> None:
        for flow in plan.flows:
            record_flow(
                self.portfolio,
                day=plan.day,
                kind=flow.kind,
                amount=flow.amount,
                by=self.back_office,
                note=flow.note,
            )
        for order in plan.orders:
            instrument = self.instrument(order.ticker)
            ticket = TradeTicket(
                portfolio=self.portfolio,
                strategy=self.strategies[order.strategy],
                instrument=instrument,
                side=order.side,
                quantity=order.quantity,
                trade_date=plan.day,
                price=order.price,
                rate=order.rate,
                fees=order.fees,
                broker=_BROKERS.get(instrument.kind, _B3_BROKER),
                notes=order.note,
            )
            record_trade(ticket, by=self.manager)
        for note in plan.notes:
            position = Position.objects.get(
                portfolio=self.portfolio,
                strategy=self.strategies[note.strategy],
                instrument=self.instrument(note.ticker),
            )
            update_position_plan(
                position, by=self.manager, thesis=note.thesis, stop=note.stop, target=note.target
            )


def _summary(portfolio: Portfolio, action: str) -> str:
    navs = list(NavRecord.objects.filter(portfolio=portfolio).order_by("date"))
    if not navs:
        return f"{portfolio.name}: {action}; no NAV yet."
    first, last = navs[0].date, navs[-1].date
    cdi = Fixing.objects.filter(index=FixingIndex.CDI, date__gte=first, date__lt=last)
    cdi_return = pricing.accrue_cdi(cdi.order_by("date").values_list("value", flat=True)) - 1
    trades = Trade.objects.filter(portfolio=portfolio).count()
    open_positions = Position.objects.for_portfolio(portfolio).open().count()
    return (
        f"{portfolio.name}: NAV R$ {navs[-1].nav_close:,.2f} on {last}, "
        f"{time_weighted_return(navs) * 100:+.2f} % since inception {first} "
        f"(time-weighted; CDI {cdi_return * 100:+.2f} %), {trades} trades, "
        f"{open_positions} open positions; {action}."
    )


def time_weighted_return(navs: Iterable[NavRecord]) -> Decimal:
    """Chain of daily returns, each day's flows taken out at the close (they earn nothing)."""
    growth = Decimal(1)
    for nav in navs:
        growth *= (nav.nav_close - nav.flows_brl) / nav.nav_open
    return growth - 1
