"""State changes of market data: manual price overrides with their audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.roles import Role, has_role
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import is_business_day
from apps.marketdata.models import Instrument, PriceRevision, PriceSource, SettlementPrice

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PRICE_EDITORS = (Role.BACK_OFFICE, Role.MANAGER)


@transaction.atomic
def override_price(
    instrument: Instrument,
    day: date,
    *,
    price: Decimal,
    rate: Decimal | None = None,
    reason: str,
    by: User,
) -> SettlementPrice:
    """Set the manual settlement price of one instrument and date, keeping the old value."""
    if not has_role(by, *PRICE_EDITORS):
        raise PermissionDenied("Only back office or a manager may override a price.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "A reason is required to override a price."})
    if price <= 0:
        raise ValidationError({"price": f"Price must be positive, got {price}."})
    if not is_business_day(day):
        raise ValidationError({"date": f"{day:%Y-%m-%d} is not an ANBIMA business day."})
    if day > timezone.localdate():
        raise ValidationError({"date": f"{day:%Y-%m-%d} is in the future."})

    row = (
        SettlementPrice.objects.select_for_update()
        .filter(instrument=instrument, date=day, source=PriceSource.MANUAL)
        .first()
    )
    previous = row or _effective_row(instrument, day)
    old_price = previous.price if previous else None
    old_rate = previous.rate if previous else None
    if row is None:
        row = SettlementPrice.objects.create(
            instrument=instrument,
            date=day,
            source=PriceSource.MANUAL,
            price=price,
            rate=rate,
            reason=reason,
            created_by=by,
        )
    else:
        row.price, row.rate, row.reason, row.created_by = price, rate, reason, by
        row.save(update_fields=["price", "rate", "reason", "created_by"])
    PriceRevision.objects.create(
        price=row,
        old_price=old_price,
        old_rate=old_rate,
        new_price=price,
        new_rate=rate,
        reason=reason,
        changed_by=by,
    )
    journal(
        kind=EntryKind.PRICE_OVERRIDE,
        actor=by,
        on_date=day,
        snapshot={
            "instrument": instrument.ticker,
            "old_price": old_price,
            "old_rate": old_rate,
            "new_price": price,
            "new_rate": rate,
        },
        note=reason,
    )
    return row


def _effective_row(instrument: Instrument, day: date) -> SettlementPrice | None:
    from apps.marketdata.queries import effective_prices

    return effective_prices(day, [instrument.pk]).get(instrument.pk)
