"""A hand-computed golden book: three positions over ten days, a subscription on day 4 and a
redemption on day 8, CDI at a daily factor of exactly 1.0005.

By hand (every futures P&L is price move × contracts × R$ per point; cash = NAV since futures
hold no value; CDI on cash = A2(NAV_open × 0.0005) from day 2):

day  NAV open       equities  FX      CDI     flow       NAV close
 1   1,000,000.00        0       0      0.00          0  1,000,000.00
 2   1,000,000.00   +5,000  +1,000    500.00          0  1,006,500.00
 3   1,006,500.00   −3,000  −2,000    503.25          0  1,002,003.25
 4   1,002,003.25   +8,000  +3,000    501.00   +500,000  1,513,504.25
 5   1,513,504.25   −2,000  +1,000    756.75          0  1,513,261.00
 6   1,513,261.00   +7,000  +1,000    756.63          0  1,522,017.63
 7   1,522,017.63   −2,000  −3,000    761.01          0  1,517,778.64
 8   1,517,778.64   +7,000  +4,000    758.89   −300,000  1,229,537.53
 9   1,229,537.53   −4,000  +1,000    614.77          0  1,227,152.30
10   1,227,152.30   +6,000  +1,000    613.58          0  1,234,765.88

TWR = Π(1 + r_t) − 1 = 2.8596 % (285.96 bp); CDI over the 9 accruing days = 1.0005⁹ − 1 =
0.4509 %, so 634.20 % of CDI; modified Dietz = (1,234,765.88 − 1,000,000 − 200,000) /
(1,000,000 + 0.6 · 500,000 − 0.2 · 300,000) = 2.8037 %. Cariño-linked contributions: equities
183.80 bp, FX 56.59 bp, cash 45.57 bp (sum 285.96 bp).
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.attribution.queries import build_attribution, resolve_period
from apps.marketdata.calendar import business_days_between
from apps.positions.mtm import catch_up
from apps.positions.services import record_flow
from apps.positions.tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _golden_figures_over_ten_days(settings: Any) -> None:
    """The golden book is 10 days: its estimates are checked as figures, not as "n/a"."""
    settings.STATS_MIN_RETURNS = 10


DAYS = business_days_between(date(2025, 2, 3), date(2025, 2, 14))
IND = [126000, 126500, 126200, 127000, 126800, 127500, 127300, 128000, 127600, 128200]
WDO = [5800, 5790, 5810, 5780, 5770, 5760, 5790, 5750, 5740, 5730]


@pytest.fixture
def golden(book_at, pm_alice):
    book = book_at(DAYS[0], "INDJ25", "WDOH25", "DOLH25")
    book.portfolio.initial_nav = Decimal("1000000.00")
    book.portfolio.save(update_fields=["initial_nav"])
    equities = StrategyFactory.create(portfolio=book.portfolio, code="equities", name="Equities BR")
    fx = StrategyFactory.create(portfolio=book.portfolio, code="fx", name="FX")
    for day, ind, wdo in zip(DAYS, IND, WDO, strict=True):
        book.price("INDJ25", day, str(ind))
        book.price("WDOH25", day, str(wdo))
        book.price("DOLH25", day, str(wdo))
        book.fix("CDI", day, "0.1342464509")  # A8 daily factor 1.00050000
    book.trade("INDJ25", "BUY", "10", DAYS[0], price="126000", strategy=equities)
    book.trade("WDOH25", "SELL", "20", DAYS[0], price="5800", strategy=fx)
    book.trade("DOLH25", "BUY", "2", DAYS[0], price="5800", strategy=fx)
    record_flow(
        book.portfolio, day=DAYS[3], kind="SUBSCRIPTION", amount=Decimal(500000), by=pm_alice
    )
    record_flow(book.portfolio, day=DAYS[7], kind="REDEMPTION", amount=Decimal(300000), by=pm_alice)
    catch_up(book.portfolio, DAYS[-1])
    return book


def _bp(x: float) -> float:
    return round(x * 10000, 2)


def test_golden_returns(golden) -> None:
    result = build_attribution(golden.portfolio, resolve_period(golden.portfolio, "itd"))
    assert [d.nav_close for d in result.days][-1] == Decimal("1234765.88")
    assert _bp(result.twr) == 285.96
    assert _bp(result.cdi) == 45.09
    assert result.pct_cdi is not None and round(result.pct_cdi * 100, 2) == 634.20
    assert _bp(result.dietz) == 280.37
    assert result.total_pnl == Decimal("34765.88")


def test_golden_contributions_to_the_basis_point(golden) -> None:
    result = build_attribution(golden.portfolio, resolve_period(golden.portfolio, "itd"))
    by_name = {g.name: g for g in result.by_strategy}
    assert _bp(by_name["Equities BR"].contribution) == 183.80
    assert _bp(by_name["FX"].contribution) == 56.59
    assert _bp(by_name["Cash (CDI on cash)"].contribution) == 45.57
    assert by_name["Equities BR"].pnl == Decimal("22000.00")
    assert by_name["FX"].pnl == Decimal("7000.00")
    assert by_name["Cash (CDI on cash)"].pnl == Decimal("5765.88")
    assert sum(g.contribution for g in result.by_strategy) == pytest.approx(result.twr)
    fx_children = {g.name: g.pnl for g in by_name["FX"].children}
    assert fx_children == {"WDOH25": Decimal("14000.00"), "DOLH25": Decimal("-7000.00")}


def test_irr_sits_between_dietz_and_twr_here(golden) -> None:
    result = build_attribution(golden.portfolio, resolve_period(golden.portfolio, "itd"))
    assert result.irr == pytest.approx(result.dietz, abs=0.0005)
