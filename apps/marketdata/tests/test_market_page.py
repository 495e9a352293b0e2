from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from apps.marketdata.models import Fixing, Instrument, SettlementPrice

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days_of_di1() -> None:
    di1 = Instrument.objects.create(
        ticker="DI1F26",
        kind="DI1",
        asset_class="RATES",
        maturity=date(2026, 1, 2),
        quote_convention="RATE",
    )
    SettlementPrice.objects.create(
        instrument=di1,
        date=date(2025, 1, 31),
        source="B3",
        price=Decimal("88034.16"),
        rate=Decimal("0.14916"),
    )
    SettlementPrice.objects.create(
        instrument=di1,
        date=date(2025, 2, 3),
        source="B3",
        price=Decimal("88093.23"),
        rate=Decimal("0.14901"),
    )
    Fixing.objects.create(index="CDI", date=date(2025, 1, 31), value=Decimal("0.1315"))
    Fixing.objects.create(index="PTAX_SELL", date=date(2025, 2, 3), value=Decimal("5.8348"))


def test_it_shows_the_latest_settlements_with_changes(
    client: Client, pm_alice, two_days_of_di1
) -> None:
    client.force_login(pm_alice)
    response = client.get("/market/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "DI1F26" in body
    assert "88,093.23" in body  # thousands separators
    assert "14.901 %" in body
    assert "\u22121.5 bp" in body  # 14.901 − 14.916, with a real minus sign
    assert "+59.07" in body  # PU change, signed
    assert "13.15 %" in body and "5.8348" in body
    assert response.context["data"].curve["labels"] == ["DI1F26"]


def test_as_of_date_reads_history(client: Client, pm_alice, two_days_of_di1) -> None:
    client.force_login(pm_alice)
    response = client.get("/market/?date=2025-02-01")  # a Saturday: the last priced day before
    assert response.context["data"].day == date(2025, 1, 31)


def test_a_bad_date_is_a_clear_message_not_a_crash(
    client: Client, pm_alice, two_days_of_di1
) -> None:
    client.force_login(pm_alice)
    response = client.get("/market/?date=31/01/2025")
    assert response.status_code == 200
    assert "is not a date (use YYYY-MM-DD)" in response.content.decode()


def test_an_empty_database_explains_how_to_load_prices(client: Client, viewer_dan) -> None:
    client.force_login(viewer_dan)
    body = client.get("/market/").content.decode()
    assert "No settlement prices yet" in body


def test_api_lists_prices_and_refuses_a_bad_date(
    client: Client, viewer_dan, two_days_of_di1
) -> None:
    client.force_login(viewer_dan)
    rows = client.get("/api/prices/?ticker=di1f26&date=2025-02-03").json()["results"]
    assert [(r["ticker"], r["price"], r["rate"]) for r in rows] == [
        ("DI1F26", "88093.23000000", "0.14901000")
    ]
    bad = client.get("/api/prices/?date=yesterday")
    assert bad.status_code == 400
    assert "is not a date" in bad.json()["date"]


def test_openapi_schema_is_served(client: Client, viewer_dan) -> None:
    client.force_login(viewer_dan)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/prices/" in response.content


@pytest.fixture
def partial_upload_for_a_new_day(two_days_of_di1: None) -> None:
    """A back-office upload of one bond for 2025-02-04: no DI1 curve for that day yet."""
    ltn = Instrument.objects.create(
        ticker="LTN-20270101",
        kind="LTN",
        asset_class="RATES",
        maturity=date(2027, 1, 1),
        quote_convention="PRICE",
    )
    SettlementPrice.objects.create(
        instrument=ltn, date=date(2025, 2, 4), source="CSV", price=Decimal("781.23")
    )


def test_a_partial_upload_for_a_new_day_does_not_become_the_default(
    client: Client, pm_alice, partial_upload_for_a_new_day
) -> None:
    client.force_login(pm_alice)
    response = client.get("/market/")
    data = response.context["data"]
    assert data.day == date(2025, 2, 3), "the latest complete day (its DI1 curve is there)"
    assert data.previous_day == date(2025, 1, 31)
    assert data.curve["labels"] == ["DI1F26"]
    body = response.content.decode()
    assert "No DI1 settlements" not in body
    assert "04 Feb 2025" in body and "incomplete" in body, "the newer partial day is named"


def test_the_partial_day_still_opens_when_asked_for(
    client: Client, pm_alice, partial_upload_for_a_new_day
) -> None:
    client.force_login(pm_alice)
    data = client.get("/market/?date=2025-02-04").context["data"]
    assert data.day == date(2025, 2, 4)
    assert data.previous_day == date(2025, 2, 3)
