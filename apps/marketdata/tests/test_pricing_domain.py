"""Inputs outside the pricing model's domain raise `PricingError`, which callers word as a
field error; a trade ticket never turns one into a server error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from apps.marketdata import pricing


@pytest.mark.parametrize(
    "price",
    [
        lambda: pricing.di1_pu(Decimal("-1.5"), 100),
        lambda: pricing.ddi_pu(Decimal("-0.5"), 1000),  # 1 − 0.5·1000/360 < 0: no PU
        lambda: pricing.ddi_pu(Decimal("0.1"), -1),
        lambda: pricing.ltn_pu(Decimal("-1"), date(2025, 2, 3), date(2027, 1, 1)),
    ],
    ids=["di1-below-minus-100pct", "ddi-no-positive-pu", "ddi-negative-days", "ltn-minus-100pct"],
)
def test_prices_outside_the_domain_raise_a_pricing_error(price: Callable[[], Decimal]) -> None:
    with pytest.raises(pricing.PricingError):
        price()
