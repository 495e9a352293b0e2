"""ANBIMA business-day calendar: known dates, B3-implied day counts and properties (no DB)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.marketdata.calendar import (
    LIST_SWITCH_DATE,
    add_business_days,
    business_days,
    business_days_between,
    easter,
    holidays,
    is_business_day,
    next_business_day,
    previous_business_day,
)

# --- holidays -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "sunday"),
    [
        (1818, date(1818, 3, 22)),  # earliest possible date
        (2000, date(2000, 4, 23)),
        (2008, date(2008, 3, 23)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2038, date(2038, 4, 25)),  # latest possible date
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday(year: int, sunday: date) -> None:
    assert easter(year) == sunday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2025, 1, 1),
        date(2025, 3, 3),  # Carnival Monday
        date(2025, 3, 4),  # Carnival Tuesday
        date(2025, 4, 18),  # Good Friday
        date(2025, 4, 21),
        date(2025, 5, 1),
        date(2025, 6, 19),  # Corpus Christi
        date(2025, 11, 20),
        date(2025, 12, 25),
        date(2024, 11, 20),
    ],
)
def test_national_holidays_are_not_business_days(holiday: date) -> None:
    assert holiday.weekday() < 5
    assert not is_business_day(holiday)


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 3, 5),  # Ash Wednesday: B3 opens at 13:00, still a du
        date(2025, 12, 24),
        date(2025, 12, 31),
        date(2025, 7, 9),  # São Paulo state holiday, a Wednesday
        date(2023, 11, 20),  # before Lei 14.759/2023
    ],
)
def test_eves_ash_wednesday_and_local_holidays_are_not_national_holidays(day: date) -> None:
    assert day not in holidays(day.year)
    assert is_business_day(day) == (day.weekday() < 5)


def test_holidays_2025_are_the_anbima_list() -> None:
    assert sorted(holidays(2025)) == [
        date(2025, 1, 1),
        date(2025, 3, 3),
        date(2025, 3, 4),
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2025, 5, 1),
        date(2025, 6, 19),
        date(2025, 9, 7),
        date(2025, 10, 12),
        date(2025, 11, 2),
        date(2025, 11, 15),
        date(2025, 11, 20),
        date(2025, 12, 25),
    ]


def test_black_consciousness_only_from_2024_unless_forced() -> None:
    assert date(2023, 11, 20) not in holidays(2023)
    assert date(2024, 11, 20) in holidays(2024)
    assert date(2024, 11, 20) not in holidays(2024, include_black_consciousness=False)
    assert date(2020, 11, 20) in holidays(2020, include_black_consciousness=True)


# --- day counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "du"),
    [
        (date(2025, 1, 31), date(2026, 1, 2), 231),  # DI1F26 on 31/01/2025
        (date(2025, 2, 3), date(2026, 1, 2), 230),  # DI1F26 on 03/02/2025
        (date(2025, 2, 3), date(2027, 1, 4), 479),  # DI1F27 on 03/02/2025
        (date(2008, 5, 21), date(2010, 7, 1), 532),  # STN's LTN example
        (date(2025, 2, 28), date(2025, 3, 5), 1),  # Friday before Carnival -> Ash Wednesday
        (date(2025, 3, 1), date(2025, 3, 1), 0),
        (date(2025, 3, 1), date(2025, 3, 3), 0),  # [Sat, Mon): weekend only
        (date(2025, 3, 3), date(2025, 3, 6), 1),  # only Ash Wednesday
        # 2025: 261 weekdays less 9 holidays (7/9, 12/10, 2/11 are Sundays, 15/11 a Saturday).
        (date(2025, 1, 1), date(2026, 1, 1), 252),
        # 2024 (leap, starts Monday): 262 weekdays less 9 (1/1, 12-13/2, 29/3, 1/5, 30/5,
        # 15/11, 20/11, 25/12; 21/4, 7/9, 12/10 and 2/11 fall on weekends).
        (date(2024, 1, 1), date(2025, 1, 1), 253),
    ],
)
def test_business_days_count_start_inclusive_end_exclusive(start: date, end: date, du: int) -> None:
    assert business_days(start, end) == du
    assert business_days(end, start, as_of=start) == -du


def test_a_price_from_before_the_switch_counts_20_november_2024_as_a_business_day() -> None:
    old = business_days(date(2023, 6, 1), date(2024, 12, 31))
    new = business_days(date(2023, 6, 1), date(2024, 12, 31), as_of=date(2024, 1, 2))
    assert old - new == 1
    assert (
        business_days(date(2024, 1, 2), date(2024, 12, 31))
        == business_days(date(2024, 1, 2), date(2024, 12, 31), as_of=date(2023, 6, 1)) - 1
    )


def test_the_list_switches_on_26_december_2023() -> None:
    eve = LIST_SWITCH_DATE - timedelta(days=1)
    assert is_business_day(date(2024, 11, 20), as_of=eve)
    assert not is_business_day(date(2024, 11, 20), as_of=LIST_SWITCH_DATE)
    span = (date(2024, 11, 1), date(2024, 12, 1))
    assert business_days(*span, as_of=eve) == business_days(*span, as_of=LIST_SWITCH_DATE) + 1


# Settlement (rate %, PU) of DI1 contracts in B3's report of 2025-02-03 (SPRD250203.zip): the PU
# pins du, since PU = 100000/(1+i)^(du/252) and one du moves the PU by ~R$ 50.
B3_DI1 = [
    ("DI1H25", date(2025, 3, 5), "13.16", "99023.59"),  # expiry after Carnival
    ("DI1J25", date(2025, 4, 1), "13.37", "98076.68"),
    ("DI1K25", date(2025, 5, 2), "13.647", "97049.29"),  # 1/5 holiday: expiry on the 2nd
    ("DI1M25", date(2025, 6, 2), "13.916", "95948.15"),
    ("DI1N25", date(2025, 7, 1), "14.129", "94890.73"),  # across Corpus Christi
    ("DI1F26", date(2026, 1, 2), "14.901", "88093.23"),  # across 20/11/2025
    ("DI1F27", date(2027, 1, 4), "14.875", "76828.74"),
    ("DI1J28", date(2028, 4, 3), "14.58", "65162.07"),
    ("DI1F31", date(2031, 1, 2), "14.48", "45218.18"),
    ("DI1F35", date(2035, 1, 2), "14.38", "26625.51"),
    ("DI1F40", date(2040, 1, 2), "14.303", "13788.05"),
]


@pytest.mark.parametrize(("ticker", "expiry", "rate_pct", "pu"), B3_DI1)
def test_business_days_match_the_du_implied_by_b3_settlement_prices(
    ticker: str, expiry: date, rate_pct: str, pu: str
) -> None:
    assert add_business_days(date(expiry.year, expiry.month, 1), 0) == expiry  # 1st bd of month
    with localcontext() as ctx:
        ctx.prec = 34
        implied = 252 * (100000 / Decimal(pu)).ln() / (1 + Decimal(rate_pct) / 100).ln()
    assert abs(implied - round(implied)) < Decimal("0.01"), ticker
    assert business_days(date(2025, 2, 3), expiry) == round(implied)


# --- stepping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2025, 2, 28), 1, date(2025, 3, 5)),  # Friday + 1 jumps Carnival
        (date(2025, 3, 5), -1, date(2025, 2, 28)),
        (date(2025, 3, 1), 0, date(2025, 3, 5)),  # Saturday rolled forward past Carnival
        (date(2025, 3, 5), 0, date(2025, 3, 5)),
        (date(2025, 3, 3), 1, date(2025, 3, 5)),  # from a holiday: the next business day
        (date(2025, 3, 3), -1, date(2025, 2, 28)),
        (date(2025, 2, 3), 230, date(2026, 1, 2)),
        (date(2026, 1, 2), -230, date(2025, 2, 3)),
        (date(2025, 12, 24), 2, date(2025, 12, 29)),
    ],
)
def test_add_business_days(day: date, n: int, expected: date) -> None:
    assert add_business_days(day, n) == expected


def test_next_and_previous_business_day_are_strict() -> None:
    assert next_business_day(date(2025, 2, 28)) == date(2025, 3, 5)
    assert next_business_day(date(2025, 3, 1)) == date(2025, 3, 5)
    assert previous_business_day(date(2025, 3, 5)) == date(2025, 2, 28)
    assert previous_business_day(date(2025, 1, 2)) == date(2024, 12, 31)


def test_business_days_between_is_inclusive() -> None:
    assert business_days_between(date(2025, 2, 28), date(2025, 3, 5)) == [
        date(2025, 2, 28),
        date(2025, 3, 5),
    ]
    assert business_days_between(date(2025, 3, 1), date(2025, 3, 4)) == []
    assert business_days_between(date(2025, 3, 6), date(2025, 3, 5)) == []


# --- properties ---------------------------------------------------------------------------------

# 1880-2220 straddles the cached 1900-2199 holiday table, so the fallback path is exercised too.
dates = st.dates(min_value=date(1880, 1, 1), max_value=date(2220, 12, 31))
near_dates = st.dates(min_value=date(2018, 1, 1), max_value=date(2032, 12, 31))
as_of_dates = st.sampled_from([date(2023, 12, 22), LIST_SWITCH_DATE, date(2025, 2, 3)])


@given(a=dates, span=st.integers(-800, 800), as_of=as_of_dates)
def test_business_days_equals_a_day_by_day_count(a: date, span: int, as_of: date) -> None:
    b = a + timedelta(days=span)
    lo, hi = min(a, b), max(a, b)
    brute = sum(is_business_day(lo + timedelta(days=k), as_of=as_of) for k in range((hi - lo).days))
    assert business_days(a, b, as_of=as_of) == (brute if a <= b else -brute)


@given(a=near_dates, b=near_dates, c=near_dates, as_of=as_of_dates)
def test_business_days_is_additive(a: date, b: date, c: date, as_of: date) -> None:
    assert business_days(a, b, as_of=as_of) + business_days(b, c, as_of=as_of) == business_days(
        a, c, as_of=as_of
    )


@given(day=dates, n=st.integers(-600, 600))
def test_adding_n_business_days_to_a_business_day_spans_n(day: date, n: int) -> None:
    start = add_business_days(day, 0)
    landed = add_business_days(start, n)
    assert is_business_day(landed, as_of=start)
    assert business_days(start, landed) == n
    assert add_business_days(landed, -n, as_of=start) == start


@given(day=dates, n=st.integers(1, 40))
def test_stepping_from_any_day_lands_on_a_business_day_on_the_right_side(day: date, n: int) -> None:
    forward, backward = add_business_days(day, n), add_business_days(day, -n)
    assert is_business_day(forward, as_of=day) and forward > day
    assert is_business_day(backward, as_of=day) and backward < day
    # n business days in (day, forward] and in [backward, day).
    assert business_days(day + timedelta(days=1), forward + timedelta(days=1), as_of=day) == n
    assert business_days(backward, day) == n


@given(a=near_dates, span=st.integers(0, 400))
def test_business_days_between_agrees_with_the_count(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    listed = business_days_between(a, b, as_of=a)
    assert len(listed) == business_days(a, b + timedelta(days=1))
    assert all(is_business_day(d, as_of=a) for d in listed)
    # Without as_of it lists today's calendar, where 20/11 is a holiday from 2024 on.
    assert all(is_business_day(d) for d in business_days_between(a, b))
