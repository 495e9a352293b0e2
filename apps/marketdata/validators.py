"""Validators shared by the forms and serializers: a quoted rate, a CNPJ."""

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


CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def cnpj_error(value: str) -> str | None:
    """Why `value` is not a valid CNPJ (None when it is): 14 characters once the dots, slash
    and dash are dropped, the last two its check digits (modulo 11). The first twelve may be
    letters (Receita Federal's alphanumeric CNPJ, IN RFB 2.229/2024): each counts as its
    ASCII code minus 48, as the digits do."""
    bare = "".join(c for c in value.upper() if c not in ".-/ ")
    if len(bare) != 14 or not bare[:12].isalnum() or not bare[12:].isdigit():
        return "A CNPJ has 14 characters (00.000.000/0000-00), the last two digits."
    if len(set(bare)) == 1:
        return "Not a CNPJ: every character is the same."
    values = [ord(c) - 48 for c in bare]
    for length in (12, 13):
        weights = CNPJ_WEIGHTS[13 - length :]
        remainder = sum(v * w for v, w in zip(values[:length], weights, strict=True)) % 11
        if values[length] != (0 if remainder < 2 else 11 - remainder):
            return "Not a CNPJ: its check digits do not match."
    return None
