"""Performance statistics (pure maths): conventions stated in `attribution/calculations.py`."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from apps.attribution import calculations as calc

D = Decimal


def _days(returns: list[str], cdi: str = "0") -> list[calc.Day]:
    start = date(2025, 2, 3)
    return [
        calc.Day(start + timedelta(days=i), D(100), D(100) * (1 + D(r)), D(0), 1 + D(cdi))
        for i, r in enumerate(returns)
    ]


def test_sortino_downside_deviation_divides_by_all_observations() -> None:
    # Excess returns +3 %, −1 %, +1 %, −1 % (CDI 0): mean 0.5 %; downside squares 2e-4 over
    # N = 4 -> TDD = √(5e-5), not √(1e-4) over the two negative days.
    stats = calc.statistics(_days(["0.03", "-0.01", "0.01", "-0.01"]))
    expected = 0.005 * 252 / (math.sqrt(2e-4 / 4) * math.sqrt(252))
    assert stats.sortino == pytest.approx(expected)


def test_estimates_over_too_few_returns_are_none_with_the_reason() -> None:
    days = _days(["0.01", "-0.02", "0.005", "0.001"])
    stats = calc.statistics(days, min_returns=21)
    assert (stats.volatility, stats.sharpe, stats.sortino) == (None, None, None)
    assert stats.max_drawdown < 0 and stats.hit_rate == 0.75  # facts, not estimates
    reason = calc.too_few_returns(len(days), 21)
    assert reason is not None and "4 daily returns" in reason and "at least 21" in reason
    assert calc.too_few_returns(21, 21) is None
