"""Validators shared by the forms and serializers that take a quoted rate."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from apps.marketdata.pricing import QUOTED_RATE_MAX, QUOTED_RATE_MIN

RATE_BOUNDS_MESSAGE = (
    f"Rate must be between {QUOTED_RATE_MIN * 100:.0f} % and {QUOTED_RATE_MAX * 100:.0f} % a.a."
)


def validate_quoted_rate(rate: Decimal | None) -> None:
    """A rate (a fraction: 0.1490 = 14.90 %) inside the band pricing accepts from a user."""
    if rate is not None and not QUOTED_RATE_MIN <= rate <= QUOTED_RATE_MAX:
        raise ValidationError(RATE_BOUNDS_MESSAGE, code="rate_bounds")
