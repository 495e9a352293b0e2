"""The what-if values a new DDI like the MTM does: at the previous day's PTAX."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.marketdata.models import Instrument
from apps.positions.mtm import run_mtm
from apps.positions.tests.test_ddi_settlement import TUE, D, _mark, _market
from apps.risk.services import hypothetical_position

pytestmark = pytest.mark.django_db


def test_the_what_if_converts_a_new_ddi_at_the_previous_ptax(book_at) -> None:
    new = book_at(TUE, "DDIF26")
    _market(new)
    new.trade("DDIF26", "BUY", "10", TUE, price="95000.00")
    run_mtm(new.portfolio, TUE)
    proposal = SimpleNamespace(
        pk=1,
        instrument=Instrument.objects.get(ticker="DDIF26"),
        quantity=D("10"),
        side="BUY",
        strategy=new.strategy,
    )
    position = hypothetical_position(proposal, TUE)
    assert position.unit_value == D("0.5") * D("5.8000")  # PTAX of 03/02, not 04/02's 5.9000
    assert position.dv01 == _mark(new, TUE).dv01_brl
