"""DAP daily settlement by B3's method: the point is R$ 0.00025 times the day's IPCA pro-rata
index, and the carry factor is the CDI net of that index's growth (docs/MARKET_DATA.md)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from apps.marketdata.calendar import business_days
from apps.marketdata.pricing import dap_pu
from apps.positions.models import DailyMark
from apps.positions.mtm import run_mtm

pytestmark = pytest.mark.django_db

D = Decimal
MON, TUE = date(2025, 2, 3), date(2025, 2, 4)
DAPK29 = date(2029, 5, 15)


def _a2(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), ROUND_HALF_UP)


def test_the_docs_worked_example(book_at) -> None:
    book = book_at(MON, "DAPK29")
    pa_mon = dap_pu(D("0.0700"), business_days(MON, DAPK29))
    pa_tue = dap_pu(D("0.0695"), business_days(TUE, DAPK29))
    book.price("DAPK29", MON, str(pa_mon), "0.0700")
    book.price("DAPK29", TUE, str(pa_tue), "0.0695")
    book.fix("CDI", MON, "0.1315")
    book.fix("IPCA_INDEX", date(2024, 12, 1), "7150.00")  # December's index (released 10/01)
    book.fix("IPCA_MONTHLY", date(2024, 12, 1), "0.0052")  # not used: a projection exists
    book.fix("IPCA_PROJECTION", date(2025, 1, 1), "0.0016")  # January's projection
    book.trade("DAPK29", "BUY", "100", MON, price=str(pa_mon))
    run_mtm(book.portfolio, MON)
    run_mtm(book.portfolio, TUE)
    # P_{03/02} = 7156.463839 (13 of 23 business days from 15/01 to 15/02), P_{04/02} =
    # 7156.961300 (14 of 23); FC = 1.00049037 / (P_t / P_{t−1}).
    fc = D("1.00049037") / (D("7156.961300") / D("7156.463839"))
    ajuste = (pa_tue - _a2(pa_mon * fc)) * D("0.00025") * D("7156.961300") * 100
    mark = DailyMark.objects.get(portfolio=book.portfolio, date=TUE)
    assert mark.pnl_brl == _a2(ajuste)
    assert mark.notional_brl == _a2(pa_tue * D("0.00025") * D("7156.961300") * 100)


def test_the_multiplier_is_the_days_pro_rata_index_not_the_last_monthly(book_at) -> None:
    book = book_at(TUE, "DAPK29")
    pa = dap_pu(D("0.0695"), business_days(TUE, DAPK29))
    book.price("DAPK29", TUE, str(pa), "0.0695")
    book.fix("CDI", MON, "0.1315")
    book.fix("IPCA_INDEX", date(2024, 12, 1), "7150.00")
    book.fix("IPCA_INDEX", date(2025, 1, 1), "7161.44")  # January: applies from 15/02 only
    book.fix("IPCA_PROJECTION", date(2025, 1, 1), "0.0016")
    book.trade("DAPK29", "BUY", "100", TUE, price=str(pa))
    run_mtm(book.portfolio, TUE)
    mark = DailyMark.objects.get(portfolio=book.portfolio, date=TUE)
    assert mark.notional_brl == _a2(pa * D("0.00025") * D("7156.961300") * 100)


def test_without_the_base_index_the_mtm_stops_and_says_why(book_at) -> None:
    from apps.positions.mtm import MtmError

    book = book_at(TUE, "DAPK29")
    pa = dap_pu(D("0.0695"), business_days(TUE, DAPK29))
    book.price("DAPK29", TUE, str(pa), "0.0695")
    book.fix("CDI", MON, "0.1315")
    book.trade("DAPK29", "BUY", "1", TUE, price=str(pa))
    with pytest.raises(MtmError, match="IPCA index for the DAP pro rata of 2025-02-04"):
        run_mtm(book.portfolio, TUE)
