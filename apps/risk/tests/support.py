"""The risk tests' book: a small multi-strategy macro fund with ~30 days of history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from apps.marketdata.calendar import business_days, business_days_between
from apps.marketdata.models import Instrument
from apps.marketdata.pricing import dap_pu, di1_pu
from apps.positions.models import Portfolio
from apps.positions.mtm import catch_up
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.risk.models import Limit, Metric, RiskSnapshot
from apps.risk.services import ensure_default_limits, run_risk
from tests.support import Book, BookAt

D = Decimal
DAYS = business_days_between(date(2025, 1, 2), date(2025, 2, 14))
LAST = DAYS[-1]
SNAPSHOT_DAYS = DAYS[-6:]  # the history chart gets a few points
RATES = {"DI1F26": "0.14200", "DI1F27": "0.15000", "DI1F29": "0.15300"}
REAL = {"DAPK27": "0.07200", "DAPK29": "0.07000"}


@dataclass
class RiskBook:
    book: Book
    portfolio: Portfolio
    snapshot: RiskSnapshot

    @property
    def day(self) -> date:
        return self.snapshot.date


def build_macro_book(book_at: BookAt) -> Book:
    """Rates (three DI1 vertices), inflation (DAP), FX (WDO) and equities (IND), marked daily."""
    tickers = [*RATES, *REAL, "WDOH25", "INDJ25"]
    book = book_at(DAYS[0], *tickers)
    portfolio = book.portfolio
    inflation = StrategyFactory.create(portfolio=portfolio, code="inflation", name="Inflation")
    fx = StrategyFactory.create(portfolio=portfolio, code="fx", name="FX tactical")
    equities = StrategyFactory.create(portfolio=portfolio, code="equities", name="Equities BR")
    rows = Instrument.objects.filter(ticker__in=tickers).values_list("ticker", "maturity")
    maturity = {ticker: day for ticker, day in rows if day is not None}
    rng = np.random.default_rng(11)
    rates = {t: D(r) for t, r in {**RATES, **REAL}.items()}
    wdo, ind = D("6100.0"), D("122000")
    for day in DAYS:
        common = D(int(rng.integers(-12, 13))) / D(100000)
        for ticker in rates:
            rates[ticker] += common + D(int(rng.integers(-3, 4))) / D(100000)
            du = business_days(day, maturity[ticker])
            pricer = di1_pu if ticker.startswith("DI1") else dap_pu
            book.price(ticker, day, str(pricer(rates[ticker], du)), str(rates[ticker]))
        wdo = (wdo * D(str(1 + rng.normal(0, 0.008)))).quantize(D("0.5"))
        ind = (ind * D(str(1 + rng.normal(0, 0.012)))).quantize(D("5"))
        book.price("WDOH25", day, str(wdo))
        book.price("INDJ25", day, str(ind))
        book.fix("CDI", day, "0.1315")
        book.fix("PTAX_SELL", day, str((wdo / 1000).quantize(D("0.0001"))))
    # The IPCA index numbers the DAP pro rata starts from (Nov and Dec 2024; no projection and
    # no monthly change, so the index stays at 7150 and the DAP carries at CDI).
    book.fix("IPCA_INDEX", date(2024, 11, 1), "7150.00")
    book.fix("IPCA_INDEX", date(2024, 12, 1), "7150.00")
    first = DAYS[0]
    book.trade("DI1F27", "BUY", "800", first, rate=RATES["DI1F27"])
    book.trade("DI1F29", "SELL", "300", first, rate=RATES["DI1F29"])
    book.trade("DI1F26", "SELL", "400", first, rate=RATES["DI1F26"])
    book.trade("DAPK29", "BUY", "150", first, rate=REAL["DAPK29"], strategy=inflation)
    book.trade("WDOH25", "SELL", "150", first, price="6100.0", strategy=fx)
    book.trade("INDJ25", "BUY", "120", first, price="122000", strategy=equities)
    catch_up(portfolio, LAST)
    return book


def snapshot_book(book: Book) -> RiskBook:
    """Snapshots for the history; then the default limits and two tighter ones, so the last
    day raises alerts (a hard worst-stress breach and a DV01 warning)."""
    portfolio = book.portfolio
    for day in SNAPSHOT_DAYS[:-1]:
        run_risk(portfolio, day)
    ensure_default_limits(portfolio)
    Limit.objects.create(
        portfolio=portfolio, metric=Metric.DV01, warning_level=D("5000"), hard_level=D("10000")
    )
    Limit.objects.create(
        portfolio=portfolio,
        metric=Metric.GROSS,
        scope="STRATEGY",
        scope_value="rates-br",
        warning_level=D("6"),
        hard_level=D("8"),
    )
    return RiskBook(book, portfolio, run_risk(portfolio, SNAPSHOT_DAYS[-1]))


def build_two_funds(book_at: BookAt) -> tuple[Portfolio, Portfolio]:
    """Fund A: the risk tests' macro book. Fund B: a smaller book that partly hedges A (pays
    the DI1 A receives, sells the index A buys) and adds a position of its own."""
    a = build_macro_book(book_at).portfolio
    b = PortfolioFactory.create(
        code="fund-b", inception_date=DAYS[0], initial_nav=Decimal("40000000.00")
    )
    rates = StrategyFactory.create(portfolio=b, code="rates-br", name="Rates BR")
    relative = StrategyFactory.create(portfolio=b, code="relative", name="Relative value")
    fund_b = Book(b, rates, a.trades.first().created_by)  # type: ignore[union-attr]
    fund_b.trade("DI1F27", "SELL", "350", DAYS[0], rate=RATES["DI1F27"])
    fund_b.trade("DI1F26", "BUY", "200", DAYS[0], rate=RATES["DI1F26"], strategy=relative)
    fund_b.trade("INDJ25", "SELL", "40", DAYS[0], price="122000", strategy=relative)
    fund_b.trade("WDOH25", "SELL", "60", DAYS[0], price="6100.0")
    catch_up(b, LAST)
    return a, b
