"""The manual price form takes a rate only inside the band every rate form accepts."""

from __future__ import annotations

import pytest

from apps.marketdata.forms import ManualPriceForm
from apps.marketdata.tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rate_pct", ["-100", "1490"])
def test_an_absurd_rate_is_a_field_error(rate_pct: str) -> None:
    instrument = InstrumentFactory.create(ticker="DI1F27")
    data = {"instrument": instrument.pk, "date": "2025-02-03", "price": "", "reason": "typo"}
    form = ManualPriceForm({**data, "rate_pct": rate_pct})
    assert not form.is_valid()
    assert form.errors["rate_pct"] == ["Rate must be between -50 % and 200 % a.a."]
