"""B3 contract codes and federal-bond names → contract specifications (Django-free).

`DI1F27` is DI1 expiring on the first business day of January 2027; `INDG25` is the Ibovespa
future expiring on the Wednesday closest to 15 February 2025. Federal bonds are named
`LTN_20270101` (kind, underscore, maturity as YYYYMMDD), as the Tesouro publishes them by
maturity, not by a listed code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from apps.marketdata.calendar import add_business_days, is_business_day

MONTH_CODES = "FGHJKMNQUVXZ"
_FUTURE = re.compile(r"^(?P<root>[A-Z0-9]{3})(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{2})$")
_BOND = re.compile(r"^(?P<kind>LTN|NTNF|NTNB|LFT)_(?P<maturity>\d{8})$")


@dataclass(frozen=True)
class ContractSpec:
    kind: str
    asset_class: str
    currency: str
    multiplier: Decimal
    quote_convention: str
    maturity: date
    underlying: str
    name: str


@dataclass(frozen=True)
class _Root:
    asset_class: str
    currency: str
    multiplier: Decimal
    quote_convention: str
    underlying: str
    expiry: str  # "first_bd", "fifteenth", "wednesday_15"
    months: str = MONTH_CODES
    label: str = ""


# Contract sizes from B3's contract specifications. DAP's point is worth R$ 0.00025 times the day's
# IPCA pro-rata index (the MTM engine applies it, docs/MARKET_DATA.md); DDI/FRC: USD 0.50.
ROOTS: dict[str, _Root] = {
    "DI1": _Root("RATES", "BRL", Decimal("1"), "RATE", "CDI", "first_bd", label="DI1"),
    "DAP": _Root("INFLATION", "BRL", Decimal("0.00025"), "RATE", "IPCA", "fifteenth", label="DAP"),
    "DDI": _Root("FX", "USD", Decimal("0.5"), "RATE", "USDBRL", "first_bd", label="DDI"),
    "FRC": _Root("FX", "USD", Decimal("0.5"), "RATE", "USDBRL", "first_bd", label="FRC"),
    "DOL": _Root("FX", "BRL", Decimal("50"), "PRICE", "USDBRL", "first_bd", label="DOL"),
    "WDO": _Root("FX", "BRL", Decimal("10"), "PRICE", "USDBRL", "first_bd", label="WDO"),
    "IND": _Root(
        "EQUITY", "BRL", Decimal("1"), "PRICE", "IBOV", "wednesday_15", "GJMQVZ", label="IND"
    ),
    "WIN": _Root(
        "EQUITY", "BRL", Decimal("0.2"), "PRICE", "IBOV", "wednesday_15", "GJMQVZ", label="WIN"
    ),
}

_BOND_SPECS: dict[str, tuple[str, str]] = {
    "LTN": ("RATES", "PRE"),
    "NTNF": ("RATES", "PRE"),
    "NTNB": ("INFLATION", "IPCA"),
    "LFT": ("CASH", "SELIC"),
}


class UnknownContract(ValueError):
    """The code is not a contract this PMS knows how to price."""


def first_business_day(year: int, month: int) -> date:
    """First ANBIMA business day of the month (DI1, DDI, DOL expiry)."""
    return add_business_days(date(year, month, 1), 0)


def fifteenth_or_next(year: int, month: int) -> date:
    """The 15th, or the next business day (DAP expiry)."""
    return add_business_days(date(year, month, 15), 0)


def wednesday_closest_to_15th(year: int, month: int) -> date:
    """The Wednesday closest to the 15th; rolled to the next business day if a holiday (IND)."""
    fifteenth = date(year, month, 15)
    offset = (2 - fifteenth.weekday()) % 7  # days forward to the next Wednesday
    wednesday = fifteenth + timedelta(days=offset if offset <= 3 else offset - 7)
    return wednesday if is_business_day(wednesday) else add_business_days(wednesday, 1)


_EXPIRY_RULES = {
    "first_bd": first_business_day,
    "fifteenth": fifteenth_or_next,
    "wednesday_15": wednesday_closest_to_15th,
}


def is_supported_future(ticker: str) -> bool:
    """True for a B3 future code of a supported root (DI1F27, WDOH25 …)."""
    match = _FUTURE.match(ticker)
    return match is not None and match.group("root") in ROOTS


def parse_ticker(ticker: str) -> ContractSpec:
    """The contract specification of a B3 future code or a federal-bond name."""
    code = ticker.strip().upper()
    if match := _FUTURE.match(code):
        root = ROOTS.get(match.group("root"))
        if root is None:
            raise UnknownContract(f"{ticker!r}: unknown B3 contract root {match.group('root')!r}.")
        if match.group("month") not in root.months:
            raise UnknownContract(
                f"{ticker!r}: {match.group('root')} has no {match.group('month')} month."
            )
        month = MONTH_CODES.index(match.group("month")) + 1
        year = 2000 + int(match.group("year"))
        maturity = _EXPIRY_RULES[root.expiry](year, month)
        return ContractSpec(
            kind=match.group("root"),
            asset_class=root.asset_class,
            currency=root.currency,
            multiplier=root.multiplier,
            quote_convention=root.quote_convention,
            maturity=maturity,
            underlying=root.underlying,
            name=f"{root.label} {maturity:%b %Y}",
        )
    if match := _BOND.match(code):
        kind = match.group("kind")
        raw = match.group("maturity")
        try:
            maturity = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            raise UnknownContract(f"{ticker!r}: {raw} is not a date.") from None
        asset_class, underlying = _BOND_SPECS[kind]
        return ContractSpec(
            kind=kind,
            asset_class=asset_class,
            currency="BRL",
            multiplier=Decimal("1"),
            quote_convention="RATE",
            maturity=maturity,
            underlying=underlying,
            name=f"{kind} {maturity:%d/%m/%Y}",
        )
    raise UnknownContract(f"{ticker!r} is neither a B3 future code nor a federal-bond name.")


def future_ticker(root: str, maturity_month: date) -> str:
    """`future_ticker("DI1", date(2027, 1, 1))` → "DI1F27"."""
    return f"{root}{MONTH_CODES[maturity_month.month - 1]}{maturity_month.year % 100:02d}"
