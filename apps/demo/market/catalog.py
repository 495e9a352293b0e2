"""Which contracts and bonds the demo market lists on a given day, and their specifications.

B3 contracts are named and specified through `contracts.parse_ticker`, so maturities follow
B3's rules. Offshore futures (CME) and the ETF are outside B3's codes and specified here.
Django-free: kinds and classes are the plain values of the model choices.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from apps.marketdata.contracts import MONTH_CODES, future_ticker, parse_ticker


@dataclass(frozen=True)
class InstrumentSpec:
    ticker: str
    name: str
    kind: str
    asset_class: str
    currency: str
    multiplier: Decimal
    quote_convention: str
    maturity: date | None
    underlying: str


@lru_cache(maxsize=4096)
def spec(ticker: str) -> InstrumentSpec:
    """The specification of a demo ticker (B3 code, bond name, CME code or BOVA11)."""
    if ticker in _OTHER:
        return _OTHER[ticker]
    if ticker[:2] in _OFFSHORE:
        return _offshore_spec(ticker)
    parsed = parse_ticker(ticker)
    return InstrumentSpec(
        ticker=ticker,
        name=parsed.name,
        kind=parsed.kind,
        asset_class=parsed.asset_class,
        currency=parsed.currency,
        multiplier=parsed.multiplier,
        quote_convention=parsed.quote_convention,
        maturity=parsed.maturity,
        underlying=parsed.underlying,
    )


def maturity(ticker: str) -> date:
    value = spec(ticker).maturity
    assert value is not None, ticker
    return value


# --- B3 futures -----------------------------------------------------------------------------


def _months_after(day: date, count: int, months: str = MONTH_CODES) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    year, month = day.year, day.month
    while len(result) < count:
        if MONTH_CODES[month - 1] in months:
            result.append((year, month))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return result


def _next(root: str, day: date, count: int, months: str, *, on_expiry: bool = False) -> list[str]:
    """The next `count` contracts of `root` in `months` still trading on `day`.

    Rate and FX futures stop the business day before expiry (their expiry settles at 100,000
    points or at the previous PTAX); index futures settle on their expiry day itself.
    """
    tickers: list[str] = []
    for year, month in _months_after(day.replace(day=1), count + 2, months):
        ticker = future_ticker(root, date(year, month, 1))
        expiry = maturity(ticker)
        if expiry > day or (on_expiry and expiry == day):
            tickers.append(ticker)
    return tickers[:count]


def di1_listed(day: date) -> list[str]:
    """The first 3 monthly, the next 4 quarterly and the next 9 January DI1 contracts.

    Once listed a contract stays until it expires, and each of these windows only moves
    forward, so a contract never disappears before its expiry: at least 13 are alive daily.
    """
    tickers = _next("DI1", day, 3, MONTH_CODES)
    tickers += _next("DI1", day, 4, "FJNV")
    tickers += _next("DI1", day, 9, "F")
    return sorted(set(tickers), key=maturity)


def dap_listed(day: date) -> list[str]:
    """The next two quarterly DAP (Feb/May/Aug/Nov) and the next three May contracts."""
    tickers = _next("DAP", day, 2, "GKQX") + _next("DAP", day, 3, "K")
    return sorted(set(tickers), key=maturity)


def ddi_listed(day: date) -> list[str]:
    """The next two January DDI (the liquid FX-coupon points)."""
    return _next("DDI", day, 2, "F")


def dol_listed(day: date) -> list[str]:
    """Front and second month of DOL (WDO shares the months and the settlement price)."""
    return _next("DOL", day, 2, MONTH_CODES)


def ind_listed(day: date) -> list[str]:
    """Front and next even-month Ibovespa future (WIN shares them)."""
    return _next("IND", day, 2, "GJMQVZ", on_expiry=True)


def mini(ticker: str) -> str:
    """DOLZ26 -> WDOZ26, INDZ26 -> WINZ26."""
    return {"DOL": "WDO", "IND": "WIN"}[ticker[:3]] + ticker[3:]


# --- Federal bonds --------------------------------------------------------------------------

# Real Tesouro maturities; each is priced while alive (settlement before maturity).
BONDS = (
    "LTN_20280101",
    "LTN_20320101",
    "NTNF_20350101",
    "NTNB_20290515",
    "NTNB_20350515",
    "NTNB_20450515",
    "LFT_20310301",
)


def bonds_alive(day: date) -> list[str]:
    return [ticker for ticker in BONDS if maturity(ticker) > day]


# --- Offshore futures and the ETF -----------------------------------------------------------

_OFFSHORE = {
    # root: (name, multiplier in USD per point, underlying)
    "ES": ("E-mini S&P 500", Decimal("50"), "SPX"),
    "ZN": ("10-Year T-Note", Decimal("1000"), "UST10Y"),
}
_QUARTERLY = "HMUZ"

_OTHER = {
    "BOVA11": InstrumentSpec(
        ticker="BOVA11",
        name="iShares Ibovespa ETF",
        kind="ETF",
        asset_class="EQUITY",
        currency="BRL",
        multiplier=Decimal("1"),
        quote_convention="PRICE",
        maturity=None,
        underlying="IBOV",
    )
}


def _offshore_spec(ticker: str) -> InstrumentSpec:
    root, month_code, year = ticker[:2], ticker[2], 2000 + int(ticker[3:])
    name, multiplier, underlying = _OFFSHORE[root]
    month = MONTH_CODES.index(month_code) + 1
    expiry = _es_expiry(year, month) if root == "ES" else _zn_last_trade(year, month)
    return InstrumentSpec(
        ticker=ticker,
        name=f"{name} {expiry:%b %Y}",
        kind="OFFSHORE_FUTURE",
        asset_class="OFFSHORE",
        currency="USD",
        multiplier=multiplier,
        quote_convention="PRICE",
        maturity=expiry,
        underlying=underlying,
    )


def _es_expiry(year: int, month: int) -> date:
    """CME equity-index futures: the third Friday of the contract month."""
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def _zn_last_trade(year: int, month: int) -> date:
    """CME Treasury futures: seventh business day before the month's last business day.

    US holidays are ignored (weekdays only): a demo approximation, off by a day at most.
    """
    day = date(year, month, month_calendar.monthrange(year, month)[1])
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    count = 0
    while count < 7:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    return day


def offshore_listed(day: date) -> list[str]:
    """Front and next quarterly ES and ZN (both held through the roll), e.g. ESZ26, ESH27."""
    tickers = []
    for root in _OFFSHORE:
        alive = []
        for year, month in _months_after(day.replace(day=1), 4, _QUARTERLY):
            ticker = f"{root}{MONTH_CODES[month - 1]}{year % 100:02d}"
            if maturity(ticker) >= day:
                alive.append(ticker)
        tickers += alive[:2]
    return tickers
