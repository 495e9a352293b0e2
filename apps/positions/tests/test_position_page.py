"""The position page: plan, charts, trades with reversals, marks; plan edits and reversals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.marketdata.calendar import business_days_between
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import DailyMark, NavRecord, Position, Trade
from apps.positions.mtm import run_mtm
from apps.positions.tests.test_book_page import D1, new_fund


@pytest.fixture
def fund(book_at: Any) -> Any:
    return new_fund(book_at)


D = Decimal


def _position(book: Any, ticker: str) -> Position:
    return Position.objects.get(portfolio=book.portfolio, instrument__ticker=ticker)


def test_it_shows_header_charts_trades_and_marks(client: Client, fund, pm_alice) -> None:
    position = _position(fund, "DI1F26")
    client.force_login(pm_alice)
    response = client.get(f"/book/position/{position.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "DI1F26" in body and "Rates BR" in body
    assert 'data-testid="direction">long PU (dado)' in body
    assert "88,034.16" in body  # average cost
    assert '<canvas id="pnl-cumulative"' in body and '<canvas id="pnl-daily"' in body
    chart = response.context["chart"]
    assert chart["labels"] == ["2025-01-31", "2025-02-03", "2025-02-04"]
    assert chart["daily"][1] == 159.0
    assert json.loads(json.dumps(chart))  # json_script-able
    assert "Buy PU (dar)" in body
    assert body.count('name="reason"') == 1  # one effective trade, one Reverse form
    assert "Edit thesis, stop and target" in body
    assert response.context["marks"].paginator.count == 3


def test_a_viewer_sees_no_reverse_button_or_plan_form(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    body = client.get(f"/book/position/{_position(fund, 'PETR4').pk}/").content.decode()
    assert "Reverse" not in body and "Edit thesis" not in body


def test_a_manager_edits_the_plan(client: Client, fund, pm_alice) -> None:
    position = _position(fund, "PETR4")
    client.force_login(pm_alice)
    response = client.post(
        f"/book/position/{position.pk}/plan/",
        {"thesis": "  Oil upcycle  ", "stop": "35.00", "target": "42.50"},
        follow=True,
    )
    assert "Thesis, stop and target saved." in response.content.decode()
    position.refresh_from_db()
    assert (position.thesis, position.stop, position.target) == ("Oil upcycle", D("35"), D("42.5"))


def test_back_office_cannot_edit_the_plan(client: Client, fund, bo_carol) -> None:
    position = _position(fund, "PETR4")
    client.force_login(bo_carol)
    response = client.post(f"/book/position/{position.pk}/plan/", {"thesis": "no"})
    assert response.status_code == 403
    position.refresh_from_db()
    assert position.thesis == ""


def test_reversing_a_trade_remarks_the_book(client: Client, fund, bo_carol) -> None:
    position = _position(fund, "PETR4")
    trade = position.trades.get()
    client.force_login(bo_carol)
    response = client.post(
        f"/book/trade/{trade.pk}/reverse/", {"reason": "Booked in the wrong fund"}, follow=True
    )
    body = response.content.decode()
    assert f"Trade #{trade.pk} reversed by" in body
    assert f'reverses <a href="#trade-{trade.pk}">#{trade.pk}</a>' in body
    position.refresh_from_db()
    assert position.quantity == 0
    assert Trade.objects.filter(reverses=trade).count() == 1
    # The marks from the trade date on were recomputed: no fill left, so no mark and no fee.
    assert not DailyMark.objects.filter(position=position).exists()
    assert NavRecord.objects.get(portfolio=fund.portfolio, date=D1).fees_brl == 0


def test_a_reversal_needs_a_reason(client: Client, fund, pm_alice) -> None:
    trade = _position(fund, "PETR4").trades.get()
    client.force_login(pm_alice)
    response = client.post(f"/book/trade/{trade.pk}/reverse/", {"reason": "  "}, follow=True)
    assert "A reason is required" in response.content.decode()
    assert not Trade.objects.filter(reverses=trade).exists()


def test_reversing_twice_is_refused(client: Client, fund, pm_alice) -> None:
    trade = _position(fund, "PETR4").trades.get()
    client.force_login(pm_alice)
    client.post(f"/book/trade/{trade.pk}/reverse/", {"reason": "wrong fund"})
    response = client.post(f"/book/trade/{trade.pk}/reverse/", {"reason": "again"}, follow=True)
    assert "has already been reversed" in response.content.decode()
    assert Trade.objects.filter(reverses=trade).count() == 1


def test_a_viewer_cannot_reverse(client: Client, fund, viewer_dan) -> None:
    trade = _position(fund, "PETR4").trades.get()
    client.force_login(viewer_dan)
    assert client.post(f"/book/trade/{trade.pk}/reverse/", {"reason": "x"}).status_code == 403
    assert not Trade.objects.filter(reverses=trade).exists()


@pytest.fixture
def long_history(book_at: Any) -> Position:
    book = book_at(date(2025, 1, 2))
    InstrumentFactory.create(ticker="VALE3", equity=True)
    days = business_days_between(date(2025, 1, 2), date(2025, 4, 30))[:65]
    for i, day in enumerate(days):
        book.price("VALE3", day, str(D("55") + D(i % 7) / 10))
        book.fix("CDI", day, "0.1315")
    book.trade("VALE3", "BUY", "100", days[0], price="55")
    for day in days:
        run_mtm(book.portfolio, day)
    return Position.objects.get(portfolio=book.portfolio)


def test_marks_show_the_last_60_days_and_page_older(client: Client, long_history, pm_alice) -> None:
    client.force_login(pm_alice)
    first = client.get(f"/book/position/{long_history.pk}/")
    page = first.context["marks"]
    assert len(page.object_list) == 60 and page.has_next()
    assert page.object_list[0].date > page.object_list[59].date  # newest first
    assert "Older →" in first.content.decode()
    older = client.get(f"/book/position/{long_history.pk}/?page=2").context["marks"]
    assert len(older.object_list) == 5
    assert len(first.context["chart"]["labels"]) == 65  # the chart shows the whole history


def test_an_unknown_position_is_a_404(client: Client, pm_alice) -> None:
    client.force_login(pm_alice)
    assert client.get("/book/position/999999/").status_code == 404
