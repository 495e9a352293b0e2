"""Price any rate-quoted instrument from its rate on a date (Django-free).

One entry point per question the book and the risk engine ask — the PU for a rate, and the
BRL value of +1 bp per unit — dispatching on the instrument kind to `pricing.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from apps.marketdata import pricing
from apps.marketdata.calendar import add_business_days, business_days

BP = Decimal("0.0001")


@dataclass(frozen=True)
class RateTerms:
    kind: str
    maturity: date
    vna: Decimal | None = None  # NTN-B / LFT


class NotRateQuoted(ValueError):
    """The kind has no rate → PU function here."""


def pu_at(terms: RateTerms, rate: Decimal, day: date) -> Decimal:
    """The PU of one unit at `rate` on `day`, by the kind's convention."""
    kind = terms.kind
    if kind in ("DI1", "DAP"):
        du = business_days(day, terms.maturity)
        return pricing.di1_pu(rate, du) if kind == "DI1" else pricing.dap_pu(rate, du)
    if kind in ("DDI", "FRC"):
        return pricing.ddi_pu(rate, (terms.maturity - day).days)
    if kind == "LTN":
        return pricing.ltn_pu(rate, day, terms.maturity)
    if kind == "NTNF":
        return pricing.ntnf_pu(rate, day, terms.maturity)
    if kind in ("NTNB", "LFT"):
        if terms.vna is None:
            raise pricing.PricingError(f"{kind} needs the VNA of {day:%Y-%m-%d} to be priced.")
        if kind == "NTNB":
            return pricing.ntnb_pu(rate, day, terms.maturity, terms.vna)
        return pricing.lft_pu(rate, day, terms.maturity, terms.vna)
    raise NotRateQuoted(f"{kind} is not priced from a rate.")


def dv01_at(terms: RateTerms, rate: Decimal, day: date) -> Decimal:
    """Change of one unit's PU for +1 bp in its rate (negative: PU falls as rates rise).

    By bump and reprice through the kind's own rounding, so it is what a +1 bp settlement
    would really pay; for DI1 this equals −`pricing.di1_dv01` within a cent.
    """
    if terms.kind == "DI1":  # the published convention, so a position's DV01 = di1_dv01 × N
        return -pricing.di1_dv01(rate, business_days(day, terms.maturity))
    return pu_at(terms, rate + BP, day) - pu_at(terms, rate, day)


NTNF_COUPON = Decimal("48.80885")  # A5(1000 · (1.10^0.5 − 1)), STN
NTNB_COUPON_RATE = Decimal("0.02956301")  # (1.06^0.5 − 1), STN


def coupon_dates(kind: str, maturity: date, start: date, end: date) -> list[date]:
    """Contractual coupon dates d with start < d <= end (NTN-F 1/1, 1/7; NTN-B in the cycle
    of its maturity: 15/2 and 15/8, or 15/5 and 15/11)."""
    if kind == "NTNF":
        months, day_of_month = (1, 7), 1
    elif kind == "NTNB":
        first = maturity.month % 6 or 6
        months, day_of_month = (first, first + 6), 15
    else:
        return []
    found = []
    for year in range(start.year, end.year + 1):
        for month in months:
            d = date(year, month, day_of_month)
            if start < d <= end and d <= maturity:
                found.append(d)
    return sorted(found)


def coupon_per_unit(
    kind: str, maturity: date, prev_day: date, day: date, vna: Decimal | None
) -> Decimal:
    """Coupon cash per unit paid in (prev_day, day]; a coupon on a holiday is paid on the next
    business day, which is when the holder's cash moves."""
    total = Decimal("0")
    # A coupon paid in (prev_day, day] has its contractual date at most a few days earlier.
    for contractual in coupon_dates(kind, maturity, prev_day - timedelta(days=10), day):
        paid = add_business_days(contractual, 0)
        if not (prev_day < paid <= day):
            continue
        if kind == "NTNF":
            total += NTNF_COUPON
        elif vna is not None:
            total += (vna * NTNB_COUPON_RATE).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    return total
