"""services.override_price: the only way to correct a settlement price, always with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.marketdata.models import PriceRevision, PriceSource, SettlementPrice
from apps.marketdata.services import override_price
from apps.marketdata.tests.factories import InstrumentFactory, SettlementPriceFactory

pytestmark = pytest.mark.django_db

DAY = date(2025, 2, 3)


@pytest.fixture
def b3_price() -> SettlementPrice:
    return SettlementPriceFactory.create(
        instrument=InstrumentFactory.create(ticker="DI1F26"),
        date=DAY,
        source=PriceSource.B3,
        price=Decimal("88093.23"),
        rate=Decimal("0.14901"),
    )


def test_it_writes_a_manual_row_and_a_revision_from_the_b3_price(
    bo_carol, b3_price: SettlementPrice
) -> None:
    row = override_price(
        b3_price.instrument,
        DAY,
        price=Decimal("88090.00"),
        rate=Decimal("0.14905"),
        reason="B3 republished the settlement at 18:40",
        by=bo_carol,
    )

    assert (row.source, row.price, row.rate) == (
        PriceSource.MANUAL,
        Decimal("88090"),
        Decimal("0.14905"),
    )
    assert (row.reason, row.created_by) == ("B3 republished the settlement at 18:40", bo_carol)
    [revision] = row.revisions.all()
    assert (revision.old_price, revision.old_rate) == (Decimal("88093.23"), Decimal("0.14901"))
    assert (revision.new_price, revision.changed_by) == (Decimal("88090"), bo_carol)


def test_the_b3_row_is_left_untouched(bo_carol, b3_price: SettlementPrice) -> None:
    override_price(
        b3_price.instrument, DAY, price=Decimal("88090"), reason="desk check", by=bo_carol
    )

    b3_price.refresh_from_db()
    assert (b3_price.source, b3_price.price, b3_price.rate) == (
        PriceSource.B3,
        Decimal("88093.23"),
        Decimal("0.14901"),
    )
    assert SettlementPrice.objects.filter(instrument=b3_price.instrument, date=DAY).count() == 2


def test_a_second_override_of_the_day_keeps_old_and_new_values(
    bo_carol, pm_alice, b3_price: SettlementPrice
) -> None:
    first = override_price(
        b3_price.instrument, DAY, price=Decimal("88090"), reason="one", by=bo_carol
    )
    second = override_price(
        b3_price.instrument, DAY, price=Decimal("88095.50"), reason="two", by=pm_alice
    )

    assert second.pk == first.pk  # one manual row per instrument and day
    assert SettlementPrice.objects.filter(source=PriceSource.MANUAL).count() == 1
    latest = PriceRevision.objects.filter(price=second).order_by("-pk").first()
    assert latest is not None
    assert (latest.old_price, latest.new_price, latest.reason) == (
        Decimal("88090"),
        Decimal("88095.50"),
        "two",
    )
    assert PriceRevision.objects.filter(price=second).count() == 2


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(bo_carol, b3_price: SettlementPrice, reason: str) -> None:
    with pytest.raises(ValidationError) as failure:
        override_price(b3_price.instrument, DAY, price=Decimal("88090"), reason=reason, by=bo_carol)

    assert "reason" in failure.value.message_dict
    assert not SettlementPrice.objects.filter(source=PriceSource.MANUAL).exists()
    assert not PriceRevision.objects.exists()


def test_a_viewer_may_not_override(viewer_dan, b3_price: SettlementPrice) -> None:
    with pytest.raises(PermissionDenied):
        override_price(b3_price.instrument, DAY, price=Decimal("88090"), reason="x", by=viewer_dan)

    assert not PriceRevision.objects.exists()


@pytest.mark.parametrize("day", [date(2025, 2, 1), date(2025, 3, 4), date(2025, 11, 20)])
def test_a_non_business_day_is_refused(bo_carol, b3_price: SettlementPrice, day: date) -> None:
    with pytest.raises(ValidationError) as failure:
        override_price(b3_price.instrument, day, price=Decimal("88090"), reason="x", by=bo_carol)

    assert "date" in failure.value.message_dict
    assert not PriceRevision.objects.exists()


def test_a_price_that_is_not_positive_is_refused(bo_carol, b3_price: SettlementPrice) -> None:
    with pytest.raises(ValidationError) as failure:
        override_price(b3_price.instrument, DAY, price=Decimal("0"), reason="x", by=bo_carol)

    assert "price" in failure.value.message_dict
