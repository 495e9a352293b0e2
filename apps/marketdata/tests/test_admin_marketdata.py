"""The back office's price pages: CSV and B3 uploads, and the manual override form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.marketdata.models import Instrument, PriceRevision, PriceSource, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory, SettlementPriceFactory
from apps.marketdata.tests.test_import_b3 import price_report, report, zipped

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
CHANGELIST = reverse("admin:marketdata_settlementprice_changelist")
IMPORT_CSV = reverse("admin:marketdata_settlementprice_import_csv")
IMPORT_B3 = reverse("admin:marketdata_settlementprice_import_b3")
ADD = reverse("admin:marketdata_settlementprice_add")


@pytest.fixture
def instruments() -> dict[str, Instrument]:
    return {t: InstrumentFactory.create(ticker=t) for t in ("DI1F26", "DI1F27", "WDOH25")}


@pytest.fixture
def carol(client: Client, bo_carol: User) -> Client:
    client.force_login(bo_carol)
    return client


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


def test_the_price_list_offers_the_imports_and_the_override(carol: Client) -> None:
    body = carol.get(CHANGELIST).content.decode()

    assert f'href="{IMPORT_CSV}"' in body
    assert f'href="{IMPORT_B3}"' in body
    assert "Manual override" in body


def test_a_good_csv_is_imported_and_counted(
    carol: Client, bo_carol: User, instruments: dict[str, Instrument]
) -> None:
    response = carol.post(IMPORT_CSV, {"file": upload(FIXTURES / "prices_good.csv")})

    assert response.status_code == 200
    assert response.context["result"].created == 6
    assert "6 prices created" in response.content.decode()
    assert SettlementPrice.objects.filter(source=PriceSource.CSV, created_by=bo_carol).count() == 6


def test_a_bad_csv_lists_every_error_and_writes_nothing(
    carol: Client, instruments: dict[str, Instrument]
) -> None:
    response = carol.post(IMPORT_CSV, {"file": upload(FIXTURES / "prices_bad.csv")})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported: 5 problems found." in body
    for error in response.context["errors"]:
        assert f"<li>{error}</li>".replace("'", "&#x27;") in body
    assert "prices_bad.csv, line 7: expected 4 columns, found 3" in body
    assert SettlementPrice.objects.count() == 0


def test_posting_without_a_file_shows_the_form_error(carol: Client) -> None:
    response = carol.post(IMPORT_CSV, {})

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["This field is required."]}


def test_a_b3_report_is_imported_with_its_instruments(carol: Client) -> None:
    content = zipped(
        "BVBG.187.01_x.xml",
        report(price_report(), price_report("DI1F27", price="76828.74", rate="14.875")),
    )
    response = carol.post(
        IMPORT_B3, {"file": SimpleUploadedFile("SPRD250203.zip", content, "application/zip")}
    )

    assert response.status_code == 200
    assert response.context["result"].created == 2
    assert set(Instrument.objects.values_list("ticker", flat=True)) == {"DI1F26", "DI1F27"}


def test_a_file_that_is_not_a_b3_report_is_refused_on_the_page(carol: Client) -> None:
    response = carol.post(
        IMPORT_B3, {"file": SimpleUploadedFile("prices.csv", b"date,ticker\n", "text/csv")}
    )

    assert "neither a zip archive nor a well-formed XML document" in response.content.decode()
    assert SettlementPrice.objects.count() == 0


@pytest.mark.parametrize("url", [IMPORT_CSV, IMPORT_B3, ADD])
def test_a_viewer_cannot_reach_the_pages(client: Client, viewer_dan: User, url: str) -> None:
    client.force_login(viewer_dan)  # not staff: sent to the admin login

    response = client.get(url)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("url", [IMPORT_CSV, IMPORT_B3, ADD])
def test_staff_without_the_add_permission_is_refused(
    client: Client, ops_erin: User, url: str
) -> None:
    client.force_login(ops_erin)  # ops: staff, may view prices, may not add them

    assert client.get(url).status_code == 403
    assert client.post(url, {"file": upload(FIXTURES / "prices_good.csv")}).status_code == 403
    assert SettlementPrice.objects.count() == 0


def override_form(instrument: Instrument, **changes: object) -> dict[str, object]:
    return {
        "instrument": instrument.pk,
        "date": "2025-02-03",
        "price": "88090.00",
        "rate_pct": "14.905",
        "reason": "B3 republished the settlement",
        **changes,
    }


def test_the_add_form_is_a_manual_override(carol: Client, bo_carol: User) -> None:
    b3 = SettlementPriceFactory.create()  # DI1F26, 2025-02-03, B3 88093.23

    response = carol.post(ADD, override_form(b3.instrument))

    assert response.status_code == 302
    row = SettlementPrice.objects.get(source=PriceSource.MANUAL)
    assert (row.price, row.rate, row.created_by) == (Decimal("88090"), Decimal("0.14905"), bo_carol)
    assert row.reason == "B3 republished the settlement"
    [revision] = PriceRevision.objects.all()
    assert (revision.price, revision.old_price, revision.new_price) == (
        row,
        Decimal("88093.23"),
        Decimal("88090"),
    )
    b3.refresh_from_db()
    assert b3.price == Decimal("88093.23")


def test_the_add_page_shows_the_override_fields(carol: Client) -> None:
    form = carol.get(ADD).context["adminform"].form

    assert list(form.fields) == ["instrument", "date", "price", "rate_pct", "reason"]


def test_an_override_without_a_reason_is_refused(carol: Client) -> None:
    instrument = InstrumentFactory.create(ticker="DI1F26")

    response = carol.post(ADD, override_form(instrument, reason="  "))

    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    assert not SettlementPrice.objects.exists()
    assert not PriceRevision.objects.exists()


def test_the_service_refusal_is_shown_on_the_form(carol: Client) -> None:
    instrument = InstrumentFactory.create(ticker="DI1F26")

    response = carol.post(ADD, override_form(instrument, date="2025-03-04"))  # Carnival

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date"] == [
        "2025-03-04 is not an ANBIMA business day."
    ]
    assert not SettlementPrice.objects.exists()
    assert not PriceRevision.objects.exists()


def test_staff_with_the_permission_but_no_role_gets_the_service_refusal(client: Client) -> None:
    user = User.objects.create_user("temp_staff", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="add_settlementprice"),
        Permission.objects.get(codename="view_instrument"),
    )
    client.force_login(user)
    instrument = InstrumentFactory.create(ticker="DI1F26")

    response = client.post(ADD, override_form(instrument))

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Only back office or a manager may override a price."
    ]
    assert not SettlementPrice.objects.exists()


def test_an_override_page_day_in_the_future_is_refused(carol: Client) -> None:
    instrument = InstrumentFactory.create(ticker="DI1F26")

    response = carol.post(ADD, override_form(instrument, date="2099-02-03"))

    assert "date" in response.context["adminform"].form.errors
    assert not SettlementPrice.objects.filter(date=date(2099, 2, 3)).exists()
