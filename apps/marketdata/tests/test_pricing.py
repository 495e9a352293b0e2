"""Pricing maths against every worked example of brazil-markets.md and B3's 2025-02-03 report.

Django-free: no DB. B3 rows are from SPRD250203.zip (BVBG.187, `AdjstdQtTax` rate in %,
`AdjstdQt` settlement PU); STN examples from the Tesouro Nacional pricing methodology.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from apps.marketdata.calendar import add_business_days, business_days
from apps.marketdata.pricing import (
    NTNB_COUPON,
    NTNF_COUPON,
    accrue_cdi,
    cdi_daily_factor,
    cdi_percent_factor,
    dap_carry_factor,
    dap_pu,
    ddi_pu,
    di1_adjustment_carried,
    di1_adjustment_carried_with_factor,
    di1_adjustment_opened,
    di1_carry_factor,
    di1_dv01,
    di1_dv01_analytic,
    di1_pu,
    di1_rate,
    ipca_period,
    ipca_pro_rata_index,
    lft_pu,
    lft_quote,
    lft_vna_projection,
    ltn_pu,
    ntnb_pu,
    ntnb_quote,
    ntnb_vna,
    ntnf_pu,
)

D = Decimal
TRADE_DATE = date(2025, 2, 3)
MONTHS = {letter: i for i, letter in enumerate("FGHJKMNQUVXZ", start=1)}


def expiry(ticker: str) -> date:
    """DI1/DDI: first business day of the month; DAP: the 15th or the next business day."""
    year, month = 2000 + int(ticker[4:]), MONTHS[ticker[3]]
    return add_business_days(date(year, month, 15 if ticker.startswith("DAP") else 1), 0)


def reference_pu(rate: Decimal, du: int) -> Decimal:
    """100000/(1+i)^(du/252) A-2 straight from Decimal's power at 60 digits."""
    with localcontext() as ctx:
        ctx.prec = 60
        pu = 100000 / (1 + rate) ** (D(du) / 252)
        return pu.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# --- B3 settlement report, 2025-02-03: every DI1, DAP and DDI row ---------------------------------

B3_DI1 = [
    ("DI1H25", "13.16", "99023.59"),
    ("DI1J25", "13.37", "98076.68"),
    ("DI1K25", "13.647", "97049.29"),
    ("DI1M25", "13.916", "95948.15"),
    ("DI1N25", "14.129", "94890.73"),
    ("DI1Q25", "14.338", "93669.34"),
    ("DI1U25", "14.492", "92558.05"),
    ("DI1V25", "14.626", "91400.47"),
    ("DI1X25", "14.733", "90205.65"),
    ("DI1Z25", "14.812", "89225.03"),
    ("DI1F26", "14.901", "88093.23"),
    ("DI1G26", "14.961", "87034.16"),
    ("DI1J26", "15.031", "85069.38"),
    ("DI1N26", "15.035", "82230.16"),
    ("DI1V26", "14.95", "79409.43"),
    ("DI1F27", "14.875", "76828.74"),
    ("DI1J27", "14.819", "74411.02"),
    ("DI1N27", "14.747", "71992.06"),
    ("DI1V27", "14.688", "69577.1"),
    ("DI1F28", "14.625", "67340.77"),
    ("DI1J28", "14.58", "65162.07"),
    ("DI1N28", "14.568", "63072.63"),
    ("DI1V28", "14.554", "60958.47"),
    ("DI1F29", "14.526", "59073.95"),
    ("DI1J29", "14.507", "57205.08"),
    ("DI1N29", "14.505", "55304.41"),
    ("DI1V29", "14.499", "53447.27"),
    ("DI1F30", "14.506", "51708.56"),
    ("DI1N30", "14.49", "48436.62"),
    ("DI1F31", "14.48", "45218.18"),
    ("DI1F32", "14.462", "39541.44"),
    ("DI1F33", "14.429", "34623.95"),
    ("DI1F34", "14.36", "30436.52"),
    ("DI1F35", "14.38", "26625.51"),
    ("DI1F36", "14.312", "23466.13"),
    ("DI1F37", "14.268", "20610.99"),
    ("DI1F38", "14.2", "18204.57"),
    ("DI1F39", "14.303", "15751.8"),
    ("DI1F40", "14.303", "13788.05"),
]

B3_DAP = [
    ("DAPG25", "9.586", "99637.41"),
    ("DAPH25", "-3.179", "100359.6"),  # negative real rate: PU above par
    ("DAPJ25", "0.531", "99897.08"),
    ("DAPK25", "2.765", "99266.72"),  # the spec's example, du 68 to 2025-05-15
    ("DAPM25", "4.373", "98483.02"),
    ("DAPN25", "5.259", "97787.57"),
    ("DAPF26", "7.27", "93560.82"),
    ("DAPQ26", "7.53", "89501.38"),
    ("DAPF27", "7.515", "86908.03"),
    ("DAPK27", "7.3", "85268.05"),
    ("DAPQ28", "7.43", "77748.13"),
    ("DAPK29", "7.46", "73696.85"),
    ("DAPQ30", "7.59", "66931.84"),
    ("DAPQ32", "7.69", "57420.6"),
    ("DAPK33", "7.61", "54682.43"),
    ("DAPK35", "7.615", "47268.14"),
    ("DAPQ40", "7.44", "33010.98"),
    ("DAPK45", "7.508", "23244.41"),
    ("DAPQ50", "7.505", "15942.63"),
    ("DAPK55", "7.461", "11471.53"),
    ("DAPQ60", "7.488", "7806.3"),
]

B3_DDI = [
    ("DDIH25", "8.252", "99317.03"),
    ("DDIJ25", "6.923", "98915.74"),  # the spec's example, dc 57 to 2025-04-01
    ("DDIK25", "6.576", "98417.96"),
    ("DDIM25", "6.245", "97977.43"),
    ("DDIN25", "6.12", "97545.75"),
    ("DDIQ25", "6.093", "97059.51"),
    ("DDIU25", "5.891", "96677.75"),
    ("DDIV25", "5.939", "96191.46"),
    ("DDIX25", "5.908", "95711.88"),
    ("DDIZ25", "5.881", "95313.28"),
    ("DDIF26", "5.901", "94824.1"),
    ("DDIG26", "5.854", "94411.73"),
    ("DDIJ26", "5.796", "93638.04"),
    ("DDIN26", "5.763", "92410.96"),
    ("DDIV26", "5.749", "91189.69"),
    ("DDIF27", "5.77", "89912.34"),
    ("DDIJ27", "5.758", "88819.71"),
    ("DDIN27", "5.757", "87688"),
    ("DDIV27", "5.778", "86528.77"),
    ("DDIF28", "5.79", "85387.86"),
    ("DDIJ28", "5.765", "84391"),
    ("DDIN28", "5.78", "83329.71"),
    ("DDIV28", "5.825", "82214.26"),
    ("DDIF29", "5.881", "81073.87"),
    ("DDIJ29", "5.888", "80099.91"),
    ("DDIN29", "5.905", "79108.62"),
    ("DDIV29", "5.962", "78021.1"),
    ("DDIF30", "6.009", "76955.72"),
    ("DDIN30", "6.065", "75043.29"),
    ("DDIF31", "6.171", "72987.98"),
    ("DDIF32", "6.336", "69241.34"),
    ("DDIF33", "6.503", "65693.22"),
    ("DDIF34", "6.73", "62169.56"),
    ("DDIF35", "6.968", "58800.32"),
    ("DDIF36", "7.167", "55761.65"),
    ("DDIF37", "7.306", "53106.43"),
    ("DDIF38", "7.566", "50211.73"),
    ("DDIF39", "7.826", "47511.12"),
    ("DDIF40", "7.906", "45537.3"),
]


@pytest.mark.parametrize(("ticker", "rate_pct", "pu"), B3_DI1)
def test_di1_pu_matches_b3_to_the_cent(ticker: str, rate_pct: str, pu: str) -> None:
    du = business_days(TRADE_DATE, expiry(ticker))
    assert di1_pu(D(rate_pct) / 100, du) == D(pu)


@pytest.mark.parametrize(("ticker", "rate_pct", "pu"), B3_DAP)
def test_dap_pu_matches_b3_to_the_cent(ticker: str, rate_pct: str, pu: str) -> None:
    du = business_days(TRADE_DATE, expiry(ticker))
    assert dap_pu(D(rate_pct) / 100, du) == D(pu)


@pytest.mark.parametrize(("ticker", "rate_pct", "pu"), B3_DDI)
def test_ddi_pu_matches_b3_to_the_cent(ticker: str, rate_pct: str, pu: str) -> None:
    calendar_days = (expiry(ticker) - TRADE_DATE).days
    assert ddi_pu(D(rate_pct) / 100, calendar_days) == D(pu)


def test_the_spec_dap_and_ddi_examples_use_the_expected_day_counts() -> None:
    assert expiry("DAPK25") == date(2025, 5, 15)
    assert business_days(TRADE_DATE, date(2025, 5, 15)) == 68
    assert expiry("DAPH25") == date(2025, 3, 17)  # 15/03/2025 is a Saturday
    assert expiry("DDIJ25") == date(2025, 4, 1)
    assert ddi_pu(D("0.06923"), 57) == D("98915.74")


# --- DI1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "du", "pu"),
    [
        ("0.105", 252, "90497.74"),
        ("0.14916", 231, "88034.16"),  # DI1F26 on 31/01/2025
        ("0.14901", 230, "88093.23"),  # DI1F26 on 03/02/2025
        ("0.14825", 479, "76892.34"),  # DI1F27 trade
        ("0.14875", 479, "76828.74"),  # DI1F27 settlement
        ("0.105", 0, "100000.00"),
    ],
)
def test_di1_pu_worked_examples(rate: str, du: int, pu: str) -> None:
    assert di1_pu(D(rate), du) == D(pu)
    assert str(di1_pu(D(rate), du)) == pu  # always two decimals


def test_di1_pu_accepts_str_int_and_float_rates() -> None:
    assert di1_pu("0.105", 252) == di1_pu(0.105, 252) == D("90497.74")
    assert di1_pu(0, 252) == D("100000.00")


def test_di1_pu_refuses_negative_terms_and_rates_at_minus_100_percent() -> None:
    with pytest.raises(ValueError):
        di1_pu(D("0.1"), -1)
    with pytest.raises(ValueError):
        di1_pu(D("-1"), 10)


@pytest.mark.parametrize(
    ("pu", "du", "rate"),
    [("90497.74", 252, "0.10500"), ("88093.23", 230, "0.14901"), ("76828.74", 479, "0.14875")],
)
def test_di1_rate_recovers_the_quoted_rate(pu: str, du: int, rate: str) -> None:
    assert di1_rate(D(pu), du) == D(rate)
    assert str(di1_rate(D(pu), du, places=7))[:7] == rate[:7]


def test_di1_dv01_of_di1f26_is_about_seven_reais() -> None:
    bump = di1_dv01(D("0.14901"), 230)
    analytic = di1_dv01_analytic(D("0.14901"), 230)
    assert abs(bump - D("7.00")) <= D("0.05")
    assert abs(analytic - D("7.00")) <= D("0.05")
    # The bump sees convexity: it is below the analytic (tangent) figure, by < 0.1 %.
    assert 0 < analytic - bump < analytic / 1000
    # Within a cent of repricing through B3's cent rounding.
    assert abs(bump - (di1_pu(D("0.14901"), 230) - di1_pu(D("0.14911"), 230))) <= D("0.01")


# --- DI1 daily settlement -------------------------------------------------------------------------


def test_di1_carry_factor_is_the_cdi_daily_factor() -> None:
    assert di1_carry_factor(D("0.1315")) == D("1.00049037")


@pytest.mark.parametrize(
    ("label", "adjustment", "expected"),
    [
        # DI1F26 carried from 31/01 to 03/02/2025: 88093.23 − A2(88034.16 × 1.00049037 = 88077.33).
        ("carried", di1_adjustment_carried("88093.23", "88034.16", "0.1315"), "15.90"),
        # Rate sold on DI1F27 at 14.825 % (PO 76892.34), settled at 14.875 % (PA 76828.74).
        ("opened", di1_adjustment_opened("76828.74", "76892.34"), "-63.60"),
        # Broker textbook, 500 contracts long PU: day 1 opened, day 2 carried at DI 0.0511 % p.d.
        ("broker day 1", di1_adjustment_opened("95883.22", "95889.89") * 500, "-3335.00"),
        (
            "broker day 2",
            di1_adjustment_carried_with_factor("95944.00", "95883.22", "1.000511") * 500,
            "5890.00",
        ),
    ],
)
def test_di1_daily_settlement_examples(label: str, adjustment: Decimal, expected: str) -> None:
    assert adjustment == D(expected), label


def test_the_carried_pu_is_rounded_to_the_cent_before_subtracting() -> None:
    # Unrounded, 95883.22 × 1.000511 = 95932.21632 would give 11.78368 per contract.
    assert di1_adjustment_carried_with_factor("95944.00", "95883.22", "1.000511") == D("11.78")


# --- CDI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "factor"), [("0.1315", "1.00049037"), ("0.1215", "1.00045513")])
def test_cdi_daily_factor(rate: str, factor: str) -> None:
    assert cdi_daily_factor(D(rate)) == D(factor)


def test_accrue_cdi_chains_the_daily_factor_rounded_to_8_places_by_default() -> None:
    # B3 and the BCB compound the one-day factor A-8 each day (the published "fator diário").
    rates = [D("0.1315")] * 21
    with localcontext() as ctx:
        ctx.prec = 200  # 1.00049037^21 exactly
        chained = (D("1.00049037") ** 21).quantize(D("1e-8"), rounding=ROUND_HALF_UP)
    assert accrue_cdi(rates) == chained == D("1.01034842")
    assert accrue_cdi(rates) == accrue_cdi(rates, round_daily=True)


def test_accrue_cdi_unrounded_only_when_asked_by_name() -> None:
    rates = [D("0.1315")] * 21
    with localcontext() as ctx:
        ctx.prec = 60
        exact = (D("1.1315") ** (D(21) / 252)).quantize(D("1e-8"), rounding=ROUND_HALF_UP)
    # Unrounded daily factors drift from the chained A-8 ones by ~4.6e-9 a day.
    assert accrue_cdi(rates, round_daily=False) == exact == D("1.01034853")


def test_accrue_cdi_over_no_days_is_one() -> None:
    assert accrue_cdi([]) == D("1.00000000")


def test_cdi_percent_factor() -> None:
    assert cdi_percent_factor(D("0.1315"), 100) == D("1.00049037")
    # TDI = 0.00049037; × 105 % = 0.0005148885 -> A8 0.00051489.
    assert cdi_percent_factor(D("0.1315"), 105) == D("1.00051489")


# --- Federal bonds (STN examples) -----------------------------------------------------------------

SETTLEMENT = date(2008, 5, 21)


def test_the_stn_coupons() -> None:
    with localcontext() as ctx:
        ctx.prec = 40
        ntnf = (1000 * (D("1.10").sqrt() - 1)).quantize(D("1e-5"), rounding=ROUND_HALF_UP)
        ntnb = (100 * (D("1.06").sqrt() - 1)).quantize(D("1e-6"), rounding=ROUND_HALF_UP)
    assert NTNF_COUPON == ntnf == D("48.80885")
    assert NTNB_COUPON == ntnb == D("2.956301")


def test_ltn() -> None:
    assert business_days(SETTLEMENT, date(2010, 7, 1)) == 532
    assert ltn_pu(D("0.1436"), SETTLEMENT, date(2010, 7, 1)) == D("753.315323")


def test_ntnf() -> None:
    assert ntnf_pu(D("0.1366"), SETTLEMENT, date(2014, 1, 1)) == D("903.075616")


def test_ntnb() -> None:
    vna = ntnb_vna(D("1726.926459"), D("0.0046"), 6, 31)
    assert vna == D("1728.461136")
    assert ntnb_quote(D("0.0829"), SETTLEMENT, date(2010, 8, 15)) == D("97.0813")
    assert ntnb_pu(D("0.0829"), SETTLEMENT, date(2010, 8, 15), vna) == D("1678.012540")


def test_lft() -> None:
    vna = lft_vna_projection(D("3449.694215"), D("0.1175"))
    assert vna == D("3451.215345")
    assert lft_quote(D("-0.0002"), SETTLEMENT, date(2014, 3, 7)) == D("100.1158")
    assert lft_pu(D("-0.0002"), SETTLEMENT, date(2014, 3, 7), vna) == D("3455.211852")


def stn_ntnb_quote(rate: Decimal, settlement: date, flows: list[date]) -> Decimal:
    """The STN cotação written out over an explicit list of flow dates (the last one pays 100)."""
    total = D(0)
    with localcontext() as ctx:
        ctx.prec = 40
        for paid in flows:
            term = (D(business_days(settlement, paid)) / 252).quantize(D("1e-14"), ROUND_DOWN)
            cash = NTNB_COUPON + (100 if paid == flows[-1] else 0)
            total += (cash / (1 + rate) ** term).quantize(D("1e-10"), ROUND_HALF_UP)
    return total.quantize(D("1e-4"), ROUND_DOWN)


def test_ntnb_flows_follow_the_cycle_of_the_maturity() -> None:
    rate, maturity = D("0.07"), date(2035, 5, 15)
    flows = [date(2025 + k // 2, 11 if k % 2 else 5, 15) for k in range(21)]  # 15/05/25..15/05/35
    assert flows[-1] == maturity
    assert ntnb_quote(rate, TRADE_DATE, maturity) == stn_ntnb_quote(rate, TRADE_DATE, flows)


def test_a_bond_settled_on_a_coupon_date_does_not_get_that_coupon() -> None:
    rate, maturity, coupon_day = D("0.07"), date(2035, 5, 15), date(2034, 11, 15)
    assert ntnb_quote(rate, coupon_day, maturity) == stn_ntnb_quote(rate, coupon_day, [maturity])
    day_before = date(2034, 11, 14)
    assert ntnb_quote(rate, day_before, maturity) == stn_ntnb_quote(
        rate, day_before, [coupon_day, maturity]
    )


def test_ntnb_vna_at_the_15th_is_the_vna_of_the_15th() -> None:
    assert ntnb_vna(D("1726.926459"), D("0.0046"), 0, 31) == D("1726.926459")
    with pytest.raises(ValueError):
        ntnb_vna(D("1726.926459"), D("0.0046"), 32, 31)


# --- properties -----------------------------------------------------------------------------------

rates = st.decimals(min_value=D("0.01"), max_value=D("0.40"), places=7)
quoted_rates = st.integers(1000, 40000).map(lambda k: D(k).scaleb(-5))  # 0.001 % grid
terms = st.integers(1, 2520)


@given(rate=st.decimals(min_value=D("-0.05"), max_value=D("0.60"), places=8), du=terms)
def test_di1_pu_agrees_with_decimal_power(rate: Decimal, du: int) -> None:
    assert di1_pu(rate, du) == reference_pu(rate, du)


@given(rate=rates, du=terms)
def test_rate_to_pu_to_rate_round_trips_within_the_pu_precision(rate: Decimal, du: int) -> None:
    pu = di1_pu(rate, du)
    # A cent-rounded PU pins the rate only to ±0.005 / |dPU/di|, dPU/di = PU·(du/252)/(1+i):
    # at du = 1 that is ~2e-5, coarser than the 1e-5 quote step. Add the 5e-6 of di1_rate's
    # own A-5 rounding.
    sensitivity = pu * du / 252 / (1 + rate)
    tolerance = D("0.005") / sensitivity + D("0.000005")
    assert abs(di1_rate(pu, du) - rate) <= tolerance


@given(rate=quoted_rates, du=terms)
def test_a_quoted_rate_is_recovered_exactly_when_a_cent_resolves_it(rate: Decimal, du: int) -> None:
    pu = di1_pu(rate, du)
    # When 1e-5 of rate moves the PU by more than a cent, the PU identifies the quote.
    assume(pu * du / 252 / (1 + rate) * D("0.00001") > D("0.01"))
    assert di1_rate(pu, du) == rate


@given(a=rates, b=rates, du=terms)
def test_pu_does_not_increase_with_the_rate(a: Decimal, b: Decimal, du: int) -> None:
    low, high = min(a, b), max(a, b)
    assert di1_pu(low, du) >= di1_pu(high, du)
    assert di1_dv01(low, du) > 0


@given(rate=rates, a=terms, b=terms)
def test_pu_does_not_increase_with_the_term(rate: Decimal, a: int, b: int) -> None:
    assert di1_pu(rate, min(a, b)) >= di1_pu(rate, max(a, b))


@given(rate=rates, du=terms)
def test_bump_and_analytic_dv01_differ_only_by_convexity(rate: Decimal, du: int) -> None:
    bump, analytic = di1_dv01(rate, du), di1_dv01_analytic(rate, du)
    # Second-order term: PU·t(t+1)/(1+i)²·bp²/2, t = du/252, relative ~(t+1)·bp/2 ≤ 0.06 %.
    assert 0 <= analytic - bump <= analytic * D("0.0006") + D("0.000002")


@given(
    rate=st.decimals(min_value=D("0.02"), max_value=D("0.30"), places=4), days=st.integers(0, 90)
)
def test_accruing_a_constant_cdi_compounds_the_annual_rate(rate: Decimal, days: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = ((1 + rate) ** (D(days) / 252)).quantize(D("1e-8"), rounding=ROUND_HALF_UP)
    assert accrue_cdi([rate] * days, round_daily=False) == exact


# --- DAP: IPCA pro rata (B3) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2025, 2, 4), date(2025, 1, 15), date(2025, 2, 15)),
        (date(2025, 1, 15), date(2025, 1, 15), date(2025, 2, 15)),
        (date(2025, 1, 14), date(2024, 12, 15), date(2025, 1, 15)),
        (date(2024, 12, 20), date(2024, 12, 15), date(2025, 1, 15)),
    ],
)
def test_ipca_period_runs_between_two_15ths(day: date, start: date, end: date) -> None:
    assert ipca_period(day) == (start, end)


def test_ipca_pro_rata_index_grows_by_the_projection_in_business_days() -> None:
    # 15/01/2025 – 15/02/2025: 23 business days; on 04/02 14 have run (13 on 03/02).
    assert business_days(date(2025, 1, 15), date(2025, 2, 15)) == 23
    assert business_days(date(2025, 1, 15), date(2025, 2, 4)) == 14
    assert ipca_pro_rata_index(D("7150.00"), D("0.0016"), 0, 23) == D("7150.000000")
    # 7150 · 1.0016^T14(14/23) = 7156.9613…, T-6 (docs/MARKET_DATA.md's worked example).
    assert ipca_pro_rata_index(D("7150.00"), D("0.0016"), 13, 23) == D("7156.463839")
    assert ipca_pro_rata_index(D("7150.00"), D("0.0016"), 14, 23) == D("7156.961300")
    assert ipca_pro_rata_index(D("7150.00"), D("0.0016"), 23, 23) == D("7161.440000")


def test_dap_carry_factor_is_cdi_net_of_the_days_pro_rata_ipca() -> None:
    factor = dap_carry_factor(D("0.1315"), D("7156.463839"), D("7156.961300"))
    expected = D("1.00049037") / (D("7156.961300") / D("7156.463839"))
    assert factor.quantize(D("1e-20")) == expected.quantize(D("1e-20"))
    assert factor.quantize(D("1e-10")) == D("1.0004208286")
