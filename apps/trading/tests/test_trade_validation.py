"""Trade entry through the form and the API: success, every refusal, and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from apps.marketdata.models import Instrument
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import DailyMark, NavRecord, Position, Trade
from apps.positions.tests.test_book_page import D2, D3, new_fund


@pytest.fixture
def fund(book_at: Any) -> Any:
    return new_fund(book_at)


D = Decimal


def _form(book: Any, ticker: str = "PETR4", **overrides: Any) -> dict[str, Any]:
    data = {
        "portfolio": book.portfolio.pk,
        "strategy": book.strategy.pk,
        "instrument": Instrument.objects.get(ticker=ticker).pk,
        "side": "BUY",
        "quantity": "100",
        "price": "37.90",
        "rate": "",
        "trade_date": "2025-02-04",
        "fees": "2.50",
        "broker": "XP",
        "notes": "",
    }
    return {**data, **overrides}


def _api(book: Any, ticker: str = "PETR4", **overrides: Any) -> dict[str, Any]:
    data = {
        "portfolio": book.portfolio.code,
        "strategy": book.strategy.code,
        "instrument": Instrument.objects.get(ticker=ticker).pk,
        "side": "BUY",
        "quantity": "100",
        "price": "37.90",
        "trade_date": "2025-02-04",
        "fees": "2.50",
    }
    return {**data, **overrides}


def _snapshot(book: Any) -> tuple[Any, ...]:
    """Everything a refused trade must leave untouched."""
    marks = DailyMark.objects.filter(portfolio=book.portfolio).order_by("date", "position_id")
    navs = NavRecord.objects.filter(portfolio=book.portfolio).order_by("date")
    return (
        Trade.objects.count(),
        Position.objects.count(),
        list(Position.objects.order_by("pk").values_list("quantity", "avg_cost")),
        list(marks.values_list("position_id", "date", "quantity", "pnl_brl", "cum_pnl_brl")),
        list(navs.values_list("date", "nav_close", "cash_brl")),
    )


@contextmanager
def nothing_written(book: Any) -> Iterator[None]:
    before = _snapshot(book)
    yield
    assert _snapshot(book) == before


# --- success --------------------------------------------------------------------------------


def test_the_form_records_a_trade_and_remarks_a_backdated_one(
    client: Client, fund, pm_alice
) -> None:
    client.force_login(pm_alice)
    response = client.post("/book/trade/new/", _form(fund, trade_date="2025-02-03"), follow=True)
    trade = Trade.objects.latest("pk")
    assert response.redirect_chain[-1][0] == f"/book/position/{trade.position_id}/"
    body = response.content.decode()
    assert f"Trade #{trade.pk} recorded: BUY 100 PETR4." in body
    assert "Marks from 03/02/2025 to 04/02/2025 recomputed." in body
    assert (trade.quantity, trade.price, trade.fees, trade.broker) == (
        D("100"),
        D("37.90"),
        D("2.50"),
        "XP",
    )
    marks = DailyMark.objects.filter(position=trade.position).order_by("date")
    assert [(m.date, m.quantity) for m in marks] == [(D2, D("100")), (D3, D("100"))]
    assert marks[0].pnl_brl == D("-70.00")  # 100 × (37.20 − 37.90)
    assert NavRecord.objects.get(portfolio=fund.portfolio, date=D2).fees_brl == D("-2.50")


def test_the_form_takes_a_rate_in_percent(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    data = _form(fund, "DI1F27", side="SELL", price="", rate="14.88", quantity="3")
    response = client.post("/book/trade/new/", data)
    assert response.status_code == 302
    trade = Trade.objects.latest("pk")
    assert trade.rate == D("0.1488") and trade.price > 0


def test_the_form_labels_rate_quoted_sides_in_pu_terms(client: Client, fund, pm_alice) -> None:
    position = Position.objects.get(portfolio=fund.portfolio, instrument__ticker="DI1F27")
    client.force_login(pm_alice)
    body = client.get(f"/book/trade/new/?position={position.pk}").content.decode()
    assert "Buy PU / sell rate (dar)" in body and "Sell PU / buy rate (tomar)" in body
    assert "<optgroup" in body  # instruments grouped by kind


def test_the_api_records_a_trade(client: Client, fund, bo_carol) -> None:
    client.force_login(bo_carol)
    minimal = _api(fund, rate=None)
    del minimal["fees"]
    bare = client.post("/api/trades/", minimal, content_type="application/json")
    assert bare.status_code == 201, bare.json()
    assert bare.json()["fees"] == "0.00"
    response = client.post("/api/trades/", _api(fund), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ticker"] == "PETR4" and body["price"] == "37.90000000" and body["fees"] == "2.50"
    assert Trade.objects.get(pk=body["id"]).created_by == bo_carol
    assert DailyMark.objects.filter(position_id=body["position"], date=D3).exists()


# --- refusals, through the form and the API, with nothing written ----------------------------


BAD_INPUTS = [
    pytest.param({"quantity": "0"}, "quantity", "greater than zero", id="zero-quantity"),
    pytest.param({"trade_date": "2025-02-01"}, "trade_date", "business day", id="saturday"),
    pytest.param(
        {"trade_date": "2025-03-04"}, "trade_date", "not an ANBIMA business day", id="carnival"
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUTS)
def test_the_form_refuses_bad_input(
    client: Client, fund, pm_alice, overrides: dict[str, str], field: str, message: str
) -> None:
    client.force_login(pm_alice)
    with nothing_written(fund):
        response = client.post("/book/trade/new/", _form(fund, **overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="{field}-errors"' in response.content.decode()


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUTS)
def test_the_api_refuses_bad_input(
    client: Client, fund, pm_alice, overrides: dict[str, str], field: str, message: str
) -> None:
    client.force_login(pm_alice)
    with nothing_written(fund):
        response = client.post(
            "/api/trades/", _api(fund, **overrides), content_type="application/json"
        )
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_a_trade_after_maturity_is_refused(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)  # INDG25 expired on 2025-02-12
    with nothing_written(fund):
        form = client.post("/book/trade/new/", _form(fund, "INDG25", trade_date="2025-02-13"))
        api = client.post(
            "/api/trades/",
            _api(fund, "INDG25", trade_date="2025-02-13", price="125000"),
            content_type="application/json",
        )
    assert "matured on 2025-02-12" in " ".join(form.context["form"].errors["trade_date"])
    assert api.status_code == 400 and "matured" in api.json()["trade_date"][0]


def test_an_unknown_instrument_is_refused(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    with nothing_written(fund):
        form = client.post("/book/trade/new/", _form(fund, instrument="999999"))
        api = client.post(
            "/api/trades/", _api(fund, instrument=999999), content_type="application/json"
        )
    assert "Select a valid choice" in " ".join(form.context["form"].errors["instrument"])
    assert api.status_code == 400 and "instrument" in api.json()


def test_an_unknown_strategy_is_refused_by_the_api(client: Client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    with nothing_written(fund):
        api = client.post(
            "/api/trades/", _api(fund, strategy="nope"), content_type="application/json"
        )
    assert api.status_code == 400 and "nope" in api.json()["strategy"][0]


def test_a_backdated_trade_without_a_price_rolls_back(client: Client, fund, pm_alice) -> None:
    """The re-mark of D2 needs DI1F28's settlement: MTM stops, naming it, and nothing stays.
    (Without a settlement the pre-trade check cannot measure risk and warns: confirmed.)"""
    InstrumentFactory.create(ticker="DI1F28")
    client.force_login(pm_alice)
    confirmed = {"confirm_warnings": True}
    with nothing_written(fund):
        form = client.post(
            "/book/trade/new/",
            _form(fund, "DI1F28", price="70000", trade_date="2025-02-03", **confirmed),
        )
        api = client.post(
            "/api/trades/",
            _api(fund, "DI1F28", price="70000", trade_date="2025-02-03", **confirmed),
            content_type="application/json",
        )
    errors = " ".join(form.context["form"].non_field_errors())
    assert "no settlement price on 2025-02-03 for DI1F28" in errors
    assert 'data-testid="form-errors"' in form.content.decode()
    assert api.status_code == 400
    assert "DI1F28" in api.json()["non_field_errors"][0]


def test_reversing_twice_through_the_api_is_refused(client: Client, fund, pm_alice) -> None:
    trade = Trade.objects.get(instrument__ticker="PETR4")
    client.force_login(pm_alice)
    first = client.post(
        f"/api/trades/{trade.pk}/reverse/",
        {"reason": "wrong fund"},
        content_type="application/json",
    )
    assert first.status_code == 201 and first.json()["reverses"] == trade.pk
    with nothing_written(fund):
        again = client.post(
            f"/api/trades/{trade.pk}/reverse/", {"reason": "again"}, content_type="application/json"
        )
        reversal = client.post(
            f"/api/trades/{first.json()['id']}/reverse/",
            {"reason": "undo"},
            content_type="application/json",
        )
        no_reason = client.post(
            f"/api/trades/{trade.pk}/reverse/", {"reason": ""}, content_type="application/json"
        )
    assert again.status_code == 400 and "already been reversed" in again.json()["trade"][0]
    assert reversal.status_code == 400 and "itself a reversal" in reversal.json()["trade"][0]
    assert no_reason.status_code == 400 and "reason" in no_reason.json()


# --- permissions ------------------------------------------------------------------------------


def test_a_viewer_cannot_record_trades(client: Client, fund, viewer_dan) -> None:
    client.force_login(viewer_dan)
    with nothing_written(fund):
        assert client.get("/book/trade/new/").status_code == 403
        assert client.post("/book/trade/new/", _form(fund)).status_code == 403
        api = client.post("/api/trades/", _api(fund), content_type="application/json")
        trade = Trade.objects.first()
        assert trade is not None
        reverse = client.post(
            f"/api/trades/{trade.pk}/reverse/",
            {"reason": "x"},
            content_type="application/json",
        )
    assert api.status_code == 403 and reverse.status_code == 403


def test_an_approver_cannot_record_trades_either(client: Client, fund, cio_bob) -> None:
    client.force_login(cio_bob)
    with nothing_written(fund):
        assert (
            client.post("/api/trades/", _api(fund), content_type="application/json").status_code
            == 403
        )


# --- rates outside what a market quotes: a field error, never a 500 ---------------------------


@pytest.mark.parametrize("rate", ["-150", "-100", "-60", "250", "99999"])
def test_the_form_refuses_an_absurd_rate(client: Client, fund, pm_alice, rate: str) -> None:
    client.force_login(pm_alice)
    data = _form(fund, "DI1F27", side="SELL", price="", rate=rate, quantity="3")
    with nothing_written(fund):
        response = client.post("/book/trade/new/", data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["rate"])
    assert "Rate must be between -50 % and 200 % a.a." in errors


@pytest.mark.parametrize("rate", ["-1.5", "-1", "-0.6", "2.5", "999"])
def test_the_api_refuses_an_absurd_rate(client: Client, fund, pm_alice, rate: str) -> None:
    client.force_login(pm_alice)
    data = _api(fund, "DI1F27", side="SELL", price=None, rate=rate, quantity="3")
    with nothing_written(fund):
        response = client.post("/api/trades/", data, content_type="application/json")
    assert response.status_code == 400
    assert "between -50 % and 200 % a.a." in " ".join(response.json()["rate"])
