"""Pricing maths for Brazilian rates instruments (Django-free, `Decimal` only, never float).

Conventions, with worked examples, in `../shared/domain/brazil-markets.md`: B3 contract specs
for DI1, DAP and DDI and the DI1 daily settlement (ajuste diário); the Tesouro Nacional (STN)
pricing methodology for LTN, NTN-F, NTN-B and LFT; the ANBIMA/B3 CDI daily factor.

Rates are decimal fractions (10.50 % is Decimal("0.105")); int, str and Decimal are taken as
is, a float through its shortest repr. Notation: A-n = round half up to n decimals, T-n =
truncate to n decimals; each function says which it applies and why.

Arithmetic runs in a local 40-digit context. The hot path (`di1_pu`, 100k calls in the
benchmark) avoids Decimal's slow `ln`: (1+i)^(du/252) is computed as g^du, where the daily
factor g = (1+i)^(1/252) is worked out once per rate in integer fixed point (exact to ~40
digits) and cached — B3 quotes rates on a 0.001 % grid, so a curve reuses a few thousand rates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from functools import lru_cache

from apps.marketdata.calendar import business_days

DecimalLike = Decimal | int | str | float

_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)


class PricingError(ValueError):
    """Inputs outside the model's domain (a rate ≤ −100 %, negative days, a PU that would be
    zero or negative): callers turn it into a message on the field, never a server error."""


# The band of rates a user may quote (forms and serializers validate it): wider than any rate
# seen on B3 since the Real (Selic peaked at 45 % in 1999; real and FX coupons can be negative),
# narrow enough to catch a rate typed in the wrong unit (1490 for 14.90 %).
QUOTED_RATE_MIN = Decimal("-0.5")
QUOTED_RATE_MAX = Decimal("2")
ONE = Decimal(1)
BP = Decimal("0.0001")
DI1_NOTIONAL = Decimal(100000)
BOND_FACE = Decimal(1000)
_DAYS_PER_YEAR = 252
_DDI_BASIS = Decimal(360)

# STN semiannual coupons: NTN-F 10 % p.a. on 1000, NTN-B 6 % p.a. in % of VNA.
NTNF_COUPON = Decimal("48.80885")  # A5(1000 · (1.10^0.5 − 1))
NTNB_COUPON = Decimal("2.956301")  # A6(100 · (1.06^0.5 − 1))


# --- DI1 / DAP / DDI futures (B3) --------------------------------------------------------------


def di1_pu(rate: DecimalLike, du: int) -> Decimal:
    """DI1 PU: 100000 / (1+i)^(du/252), A-2."""
    # Half-up to the cent reproduces every PU in B3's settlement report; truncation does not.
    return _round(_pu_252(_dec(rate), du), 2)


def dap_pu(rate: DecimalLike, du: int) -> Decimal:
    """DAP PU: 100000 / (1+r)^(du/252), A-2 (same B3 rounding as DI1), r the real IPCA coupon."""
    return _round(_pu_252(_dec(rate), du), 2)


def ddi_pu(rate: DecimalLike, calendar_days: int) -> Decimal:
    """DDI PU: 100000 / (1 + i·dc/360), A-2 — linear FX coupon on calendar days."""
    if calendar_days < 0:
        raise PricingError(f"calendar days must be >= 0, got {calendar_days}")
    with localcontext(_CONTEXT):
        accrual = ONE + _dec(rate) * calendar_days / _DDI_BASIS
        if accrual <= 0:
            raise PricingError(f"coupon {rate} over {calendar_days} days gives no positive PU")
        return _round(DI1_NOTIONAL / accrual, 2)


def di1_rate(pu: DecimalLike, du: int, *, places: int = 5) -> Decimal:
    """DI1 rate implied by a PU: (100000/PU)^(252/du) − 1, A-`places` (5 = B3's 0.001 %)."""
    if du <= 0:
        raise PricingError(f"du must be > 0 to imply a rate, got {du}")
    with localcontext(_CONTEXT):
        growth = DI1_NOTIONAL / _dec(pu)
        return _round(growth ** (Decimal(_DAYS_PER_YEAR) / du) - ONE, places)


def di1_dv01(rate: DecimalLike, du: int) -> Decimal:
    """R$ per contract lost by a long-PU position when the rate rises 1 bp: PU(i) − PU(i+1bp).

    Bumped at full precision (not from cent-rounded PUs, which would make the DV01 jump by a
    cent with the rounding) and rounded A-6, not A-2: the figure is multiplied by thousands of
    contracts, and six decimals keep a 5,000-contract DV01 exact to the cent.
    """
    i = _dec(rate)
    with localcontext(_CONTEXT):
        return _round(_pu_252(i, du) - _pu_252(i + BP, du), 6)


def di1_dv01_analytic(rate: DecimalLike, du: int) -> Decimal:
    """Analytic DV01: PU·(du/252)/(1+i)·0.0001 at full precision, A-6 (as `di1_dv01`)."""
    i = _dec(rate)
    with localcontext(_CONTEXT):
        duration = Decimal(du) / _DAYS_PER_YEAR / (ONE + i)
        return _round(_pu_252(i, du) * duration * BP, 6)


# --- DAP: the IPCA pro-rata index (B3) ---------------------------------------------------------
# B3 quotes the DAP as a "clean" real rate and corrects positions daily by the IPCA pro rata:
# between two 15ths the index grows from the last released monthly index by the month's IPCA
# projection, pro rata in business days. Worked example and open points: docs/MARKET_DATA.md.


def ipca_period(day: date) -> tuple[date, date]:
    """The 15th on or before `day` and the following month's 15th (calendar dates)."""
    year, month = day.year, day.month
    if day.day < 15:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, 15), date(following[0], following[1], 15)


def ipca_pro_rata_index(
    base_index: DecimalLike, projection: DecimalLike, elapsed: int, period: int
) -> Decimal:
    """P_t = T6(I_{m−1} · (1 + π_m)^T14(dut/dum)): dut business days from the 15th to t,
    dum from that 15th to the next, π_m the month's projection (A-2 in %), as the NTN-B VNA."""
    return ntnb_vna(base_index, projection, elapsed, period)


def dap_carry_factor(
    cdi_prev: DecimalLike, index_prev: DecimalLike, index_today: DecimalLike
) -> Decimal:
    """FC_t = A8((1 + CDI_{t−1})^(1/252)) / (P_t / P_{t−1}): CDI net of the day's pro-rata IPCA."""
    with localcontext(_CONTEXT):
        return cdi_daily_factor(cdi_prev) / (_dec(index_today) / _dec(index_prev))


# --- DI1 daily settlement (ajuste diário, B3) --------------------------------------------------


def di1_carry_factor(cdi_prev: DecimalLike) -> Decimal:
    """FC = A8((1 + CDI_{t−1})^(1/252)), the factor carrying yesterday's settlement PU."""
    return cdi_daily_factor(cdi_prev)


def di1_adjustment_opened(pa: DecimalLike, po: DecimalLike) -> Decimal:
    """Ajuste per contract, long-PU side, on the trade day: PA − PO."""
    return _CONTEXT.subtract(_dec(pa), _dec(po))


def di1_adjustment_carried(
    pa_today: DecimalLike, pa_prev: DecimalLike, cdi_prev: DecimalLike
) -> Decimal:
    """Ajuste per contract, long-PU side, for a position carried: PA_t − A2(PA_{t−1} · FC)."""
    return di1_adjustment_carried_with_factor(pa_today, pa_prev, di1_carry_factor(cdi_prev))


def di1_adjustment_carried_with_factor(
    pa_today: DecimalLike, pa_prev: DecimalLike, factor: DecimalLike
) -> Decimal:
    """PA_t − A2(PA_{t−1} · FC) with the carry factor given (e.g. a published daily DI)."""
    # The carried PU is rounded to the cent before subtracting, as in the broker's worked
    # example (500 contracts: +5890.00, not +5891.84); the ajuste stays a whole cent per contract.
    carried = _round(_CONTEXT.multiply(_dec(pa_prev), _dec(factor)), 2)
    return _CONTEXT.subtract(_dec(pa_today), carried)


# --- CDI accrual (ANBIMA / B3) -----------------------------------------------------------------


def cdi_daily_factor(rate: DecimalLike) -> Decimal:
    """A8((1 + DI)^(1/252)), the published one-day CDI factor."""
    return _round(_daily_factor(_dec(rate)), 8)


def accrue_cdi(rates: Iterable[DecimalLike], *, round_daily: bool = True) -> Decimal:
    """Compounded CDI factor over the given daily annual rates: Π A8((1+DI)^(1/252)), A-8.

    B3 and the BCB compound the one-day factor rounded to 8 decimals each day (the published
    daily factor, the same FC that carries a DI1 settlement), and so do the MTM and attribution.
    `round_daily=False`, asked for by name, multiplies the ~40-digit factors instead and rounds
    once at the end: (1+i)^(n/252) exactly, ~4.6e-9 a day above the chained A-8 factors at
    13.15 % (1.1e-7 over 21 days).
    """
    with localcontext(_CONTEXT):
        product = ONE
        for rate in rates:
            product *= cdi_daily_factor(rate) if round_daily else _daily_factor(_dec(rate))
        return _round(product, 8)


def cdi_percent_factor(rate: DecimalLike, pct: DecimalLike) -> Decimal:
    """One-day factor at p % of CDI: 1 + A8(TDI · p/100), TDI = A8((1+DI)^(1/252) − 1)."""
    with localcontext(_CONTEXT):
        tdi = _round(_daily_factor(_dec(rate)) - ONE, 8)
        return ONE + _round(tdi * _dec(pct) / 100, 8)


# --- Federal bonds (STN methodology) -----------------------------------------------------------
# STN precision table: rate T-6 in % (T-8 as a fraction), exponent du/252 T-14, PU T-6,
# cotação T-4, VNA T-6, NTN-F flows A-9, NTN-B flows A-10, inflation A-2 in %, pro rata T-14.
# Truncating where STN truncates is what makes the PU match the Treasury's to the last digit.


def ltn_pu(rate: DecimalLike, settlement: date, maturity: date) -> Decimal:
    """LTN PU: T6(1000 / (1+tx)^T14(du/252))."""
    with localcontext(_CONTEXT):
        discount = _stn_discount(_stn_rate(rate), business_days(settlement, maturity))
        return _truncate(BOND_FACE / discount, 6)


def ntnf_pu(rate: DecimalLike, settlement: date, maturity: date) -> Decimal:
    """NTN-F PU: T6(Σ A9(CF_k / (1+tx)^T14(du_k/252))) over the 1/1 and 1/7 flows to maturity."""
    tx = _stn_rate(rate)
    with localcontext(_CONTEXT):
        total = Decimal(0)
        for paid in _semiannual_dates(settlement, maturity):
            flow = NTNF_COUPON + (BOND_FACE if paid == maturity else 0)
            total += _round(flow / _stn_discount(tx, business_days(settlement, paid)), 9)
        return _truncate(total, 6)


def ntnb_quote(rate: DecimalLike, settlement: date, maturity: date) -> Decimal:
    """NTN-B cotação (% of VNA): T4(Σ A10(CF_k% / (1+tx)^T14(du_k/252)))."""
    tx = _stn_rate(rate)
    with localcontext(_CONTEXT):
        total = Decimal(0)
        for paid in _semiannual_dates(settlement, maturity):
            flow = NTNB_COUPON + (100 if paid == maturity else 0)
            total += _round(flow / _stn_discount(tx, business_days(settlement, paid)), 10)
        return _truncate(total, 4)


def ntnb_pu(rate: DecimalLike, settlement: date, maturity: date, vna: DecimalLike) -> Decimal:
    """NTN-B PU: T6(VNA · cotação / 100)."""
    return _pu_from_quote(ntnb_quote(rate, settlement, maturity), vna)


def ntnb_vna(vna_15: DecimalLike, ipca_monthly: DecimalLike, elapsed: int, period: int) -> Decimal:
    """NTN-B VNA between two 15ths: T6(VNA_15 · (1 + IPCA)^T14(elapsed/period)).

    IPCA is the month's realised or projected rate as a fraction, taken A-2 in % (A-4 here);
    elapsed/period is the fraction of the month run, in calendar days (STN) or business days
    (ANBIMA's daily file) as the caller chooses.
    """
    if period <= 0 or not 0 <= elapsed <= period:
        raise PricingError(f"need 0 <= elapsed <= period and period > 0, got {elapsed}/{period}")
    with localcontext(_CONTEXT):
        ipca = _round(_dec(ipca_monthly), 4)
        pro_rata = _truncate(Decimal(elapsed) / period, 14)
        return _truncate(_dec(vna_15) * (ONE + ipca) ** pro_rata, 6)


def lft_quote(rate: DecimalLike, settlement: date, maturity: date) -> Decimal:
    """LFT cotação: T4(100 / (1+tx)^T14(du/252)), tx the (often negative) premium over Selic."""
    with localcontext(_CONTEXT):
        discount = _stn_discount(_stn_rate(rate), business_days(settlement, maturity))
        return _truncate(100 / discount, 4)


def lft_pu(rate: DecimalLike, settlement: date, maturity: date, vna: DecimalLike) -> Decimal:
    """LFT PU: T6(VNA · cotação / 100)."""
    return _pu_from_quote(lft_quote(rate, settlement, maturity), vna)


def lft_vna_projection(vna_prev: DecimalLike, selic_target: DecimalLike) -> Decimal:
    """LFT VNA one business day on: T6(VNA_{d−1} · (1+Selic)^T14(1/252))."""
    with localcontext(_CONTEXT):
        one_day = _truncate(ONE / _DAYS_PER_YEAR, 14)
        return _truncate(_dec(vna_prev) * (ONE + _dec(selic_target)) ** one_day, 6)


# --- internals ---------------------------------------------------------------------------------


def _dec(value: DecimalLike) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest repr: 0.1 -> "0.1", not its binary expansion
    return Decimal(value)


def _round(value: Decimal, places: int) -> Decimal:
    """A-n: half up, the convention of B3 PUs, CDI factors and STN discounted flows."""
    return value.quantize(_quantum(places), rounding=ROUND_HALF_UP, context=_CONTEXT)


def _truncate(value: Decimal, places: int) -> Decimal:
    """T-n: toward zero, the STN convention for rates, exponents, PUs, quotes and VNAs."""
    return value.quantize(_quantum(places), rounding=ROUND_DOWN, context=_CONTEXT)


@lru_cache(maxsize=32)
def _quantum(places: int) -> Decimal:
    return ONE.scaleb(-places)


def _pu_252(rate: Decimal, du: int) -> Decimal:
    """100000 / (1+i)^(du/252), unrounded (40 significant digits)."""
    if du < 0:
        raise PricingError(f"du must be >= 0, got {du}")
    # Context methods rather than `localcontext`: this is the 100k-calls path.
    return _CONTEXT.divide(DI1_NOTIONAL, _CONTEXT.power(_daily_factor(rate), du))


def _stn_rate(rate: DecimalLike) -> Decimal:
    """The rate truncated to 6 decimals in % (8 as a fraction), as STN quotes it."""
    return _truncate(_dec(rate), 8)


def _stn_discount(tx: Decimal, du: int) -> Decimal:
    """(1+tx)^T14(du/252): STN truncates the exponent, so no g^du shortcut here."""
    if tx <= -1:
        raise PricingError(f"rate must be > -1, got {tx}")
    exponent = _truncate(Decimal(du) / _DAYS_PER_YEAR, 14)
    return (ONE + tx) ** exponent


def _pu_from_quote(quote: Decimal, vna: DecimalLike) -> Decimal:
    with localcontext(_CONTEXT):
        return _truncate(_dec(vna) * quote / 100, 6)


def _semiannual_dates(settlement: date, maturity: date) -> list[date]:
    """Contractual flow dates after settlement: maturity and every 6 months back from it."""
    dates = []
    year, month = maturity.year, maturity.month
    while (paid := date(year, month, maturity.day)) > settlement:
        dates.append(paid)
        year, month = (year, month - 6) if month > 6 else (year - 1, month + 6)
    return dates[::-1]


# Fixed point for the daily factor: 2^140 ≈ 1.4e42, a few digits beyond the 40-digit context.
_BITS = 140
_FIXED_ONE = 1 << _BITS


@lru_cache(maxsize=65536)
def _daily_factor(rate: Decimal) -> Decimal:
    """(1+rate)^(1/252) to 40 significant digits, as exp(ln(1+rate)/252) in integer fixed point.

    Decimal's own ln costs ~20 µs; these two integer series cost ~5 µs and agree with
    `Decimal.__pow__` at 40 digits. Cached per rate: the benchmark and a real curve reuse rates.
    """
    if rate <= -1:
        raise PricingError(f"rate must be > -1, got {rate}")
    num, den = rate.as_integer_ratio()
    log = _fixed_ln(num + den, den)
    with localcontext(_CONTEXT):
        return Decimal(_fixed_exp(log // _DAYS_PER_YEAR)) / _FIXED_ONE


def _fixed_ln(num: int, den: int) -> int:
    """ln(num/den) · 2^_BITS: k·ln 2 + ln(r) with r = num/den/2^k in (1/2, 2)."""
    k = num.bit_length() - den.bit_length()
    if k > 0:
        den <<= k
    else:
        num <<= -k
    return k * _LN2 + _fixed_atanh_ln(num, den)


def _fixed_atanh_ln(num: int, den: int) -> int:
    """ln(num/den) · 2^_BITS as 2·atanh(z), z = (num−den)/(num+den); |z| < 1/3 converges fast."""
    z = ((num - den) << _BITS) // (num + den)
    sign, z = (-1 if z < 0 else 1), abs(z)  # series on |z|: a negative term would floor to −1
    z2 = (z * z) >> _BITS
    term = total = z
    k = 1
    while term:
        term = (term * z2) >> _BITS
        k += 2
        total += term // k
    return sign * 2 * total


def _fixed_exp(x: int) -> int:
    """exp(x / 2^_BITS) · 2^_BITS by Taylor series; used for small |x| (a daily log)."""
    negative, x = x < 0, abs(x)
    term = total = _FIXED_ONE
    k = 0
    while term:
        k += 1
        term = ((term * x) >> _BITS) // k
        total += term
    return (_FIXED_ONE * _FIXED_ONE) // total if negative else total


_LN2 = _fixed_atanh_ln(2, 1)
