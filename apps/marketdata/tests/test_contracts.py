from datetime import date
from decimal import Decimal

import pytest

from apps.marketdata.contracts import UnknownContract, future_ticker, parse_ticker


@pytest.mark.parametrize(
    ("ticker", "kind", "maturity"),
    [
        ("DI1F26", "DI1", date(2026, 1, 2)),  # 1 Jan is a holiday
        ("DI1F27", "DI1", date(2027, 1, 4)),  # 1 Jan 2027 is a Friday holiday → Monday
        ("DI1H25", "DI1", date(2025, 3, 5)),  # 3–4 March 2025 were Carnival
        ("DAPK25", "DAP", date(2025, 5, 15)),
        ("DAPQ26", "DAP", date(2026, 8, 17)),  # 15 Aug 2026 is a Saturday
        ("DDIJ25", "DDI", date(2025, 4, 1)),
        ("WDOH25", "WDO", date(2025, 3, 5)),
        ("INDG25", "IND", date(2025, 2, 12)),  # Wednesday closest to Sat 15 Feb 2025
        ("WINJ25", "WIN", date(2025, 4, 16)),  # Tue 15 Apr → Wed 16 Apr
        ("INDM25", "IND", date(2025, 6, 18)),  # Sun 15 Jun → Wed 18 Jun
        ("NTNB_20350515", "NTNB", date(2035, 5, 15)),
        ("LTN_20270101", "LTN", date(2027, 1, 1)),
    ],
)
def test_it_parses_b3_codes_and_bond_names(ticker: str, kind: str, maturity: date) -> None:
    spec = parse_ticker(ticker)
    assert (spec.kind, spec.maturity) == (kind, maturity)


def test_contract_sizes_follow_b3() -> None:
    assert parse_ticker("DOLH25").multiplier == Decimal("50")
    assert parse_ticker("WDOH25").multiplier == Decimal("10")
    assert parse_ticker("WING25").multiplier == Decimal("0.2")
    assert parse_ticker("DI1F26").quote_convention == "RATE"
    assert parse_ticker("DDIF26").currency == "USD"


@pytest.mark.parametrize("ticker", ["XYZF26", "INDF25", "DI1", "DI1F2", "LTN_20271301", "PETR4"])
def test_it_refuses_what_it_cannot_price(ticker: str) -> None:
    with pytest.raises(UnknownContract):
        parse_ticker(ticker)


def test_future_ticker_is_the_inverse() -> None:
    assert future_ticker("DI1", date(2027, 1, 4)) == "DI1F27"
