"""ANBIMA national business-day calendar, implemented by hand (Django-free).

Source: ANBIMA national holiday list; `../shared/domain/brazil-markets.md` §1 (project spec). A
business day (dia útil) is a weekday that is not a national holiday; 24/12, 31/12, Ash
Wednesday and state/city holidays are business days. `du(a, b)` counts [a, b): start
inclusive, end exclusive, so `du/252` is the annualised term from a to b.

Consciência Negra (20/11) is a national holiday from 2024 on (Lei 14.759 of December 2023), but
prices published before the law count `du` with the old list even for dates in 2024+. Every
function therefore takes the list *in force on* an `as_of` date (default: the start date), and
the market switched on 2023-12-26.

Speed: `business_days` is weekday arithmetic minus a bisect into a cached sorted tuple of
weekday holidays (1900-2199), 1-2 µs a call; dates outside that table fall back to
per-year holiday sets.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

LIST_SWITCH_DATE = date(2023, 12, 26)  # first business day after Lei 14.759/2023 was published
BLACK_CONSCIOUSNESS_FIRST_YEAR = 2024

_FIXED_HOLIDAYS = ((1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25))
# Carnival Monday, Carnival Tuesday, Good Friday, Corpus Christi, in days from Easter Sunday.
_EASTER_OFFSETS = (-48, -47, -2, 60)
_TABLE_FIRST_YEAR, _TABLE_LAST_YEAR = 1900, 2199
_TABLE_START = date(_TABLE_FIRST_YEAR, 1, 1).toordinal()
_TABLE_END = date(_TABLE_LAST_YEAR + 1, 1, 1).toordinal()
_ONE_DAY = timedelta(days=1)


def easter(year: int) -> date:
    """Easter Sunday of a Gregorian year (Anonymous/Meeus-Jones-Butcher computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def holidays(year: int, *, include_black_consciousness: bool | None = None) -> frozenset[date]:
    """National holidays of `year`; None applies today's law (20/11 from 2024 on)."""
    if include_black_consciousness is None:
        include_black_consciousness = year >= BLACK_CONSCIOUSNESS_FIRST_YEAR
    return _holiday_set(year, include_black_consciousness)


def is_business_day(d: date, *, as_of: date | None = None) -> bool:
    """Weekday and not a national holiday, with the holiday list in force on `as_of` (default d)."""
    return d.weekday() < 5 and d not in _year_holidays(d.year, _new_list(as_of or d))


def business_days(start: date, end: date, *, as_of: date | None = None) -> int:
    """Business days d with start <= d < end; negative count of [end, start) if end < start.

    The holiday list is the one in force on `as_of`, which defaults to `start` (the valuation
    date), so a 2023 price keeps counting 20/11/2024 as a business day.
    """
    new_list = _new_list(as_of or start)
    a, b = start.toordinal(), end.toordinal()
    if b < a:
        return -_count(b, a, new_list)
    return _count(a, b, new_list)


def add_business_days(d: date, n: int, *, as_of: date | None = None) -> date:
    """The n-th business day after d (n > 0) or before d (n < 0); n == 0 rolls d forward.

    Counting starts from d itself whether or not d is a business day, so a holiday + 1 is the
    next business day (the B3 rule "or the next business day"), and `add_business_days(d, 0)`
    is d if it is a business day, else the following one. For a business day d,
    `business_days(d, add_business_days(d, n)) == n`. The list is the one in force on `as_of`
    (default d).
    """
    new_list = _new_list(as_of or d)
    o = d.toordinal()
    if n == 0:
        return d if _is_business(o, new_list) else add_business_days(d, 1, as_of=as_of or d)
    # Business days are ~252 of 365 calendar days and never fewer than 1 in 6 consecutive days
    # (weekend + Carnival), so 2|n| + 14 calendar days always hold |n| of them.
    span = 2 * abs(n) + 14
    if n > 0:
        # Smallest x > d with n business days in (d, x].
        after = range(o + 1, o + span)
        i = bisect_left(after, n, key=lambda x: _count(o + 1, x + 1, new_list))
        return date.fromordinal(after[i])
    # Largest x < d with |n| business days in [x, d); the key is increasing in x.
    before = range(o - span, o)
    i = bisect_right(before, n, key=lambda x: -_count(x, o, new_list))
    return date.fromordinal(before[i - 1])


def next_business_day(d: date, *, as_of: date | None = None) -> date:
    """The first business day strictly after d."""
    return add_business_days(d, 1, as_of=as_of)


def previous_business_day(d: date, *, as_of: date | None = None) -> date:
    """The last business day strictly before d."""
    return add_business_days(d, -1, as_of=as_of)


def business_days_between(start: date, end: date, *, as_of: date | None = None) -> list[date]:
    """Business days in [start, end], both ends inclusive; empty if end < start.

    Without `as_of` this is the calendar as it is (today's law: 20/11 a holiday from 2024 on),
    which is what listing trading dates needs; `as_of` picks a historical list, as `du` does.
    """
    new_list = _new_list(as_of) if as_of else True
    days = []
    day = start
    while day <= end:
        if _is_business(day.toordinal(), new_list):
            days.append(day)
        day += _ONE_DAY
    return days


# --- internals --------------------------------------------------------------------------------


def _new_list(as_of: date) -> bool:
    """True when the list in force on `as_of` has 20/11 (from 2024 on)."""
    return as_of >= LIST_SWITCH_DATE


def _year_holidays(year: int, new_list: bool) -> frozenset[date]:
    return _holiday_set(year, new_list and year >= BLACK_CONSCIOUSNESS_FIRST_YEAR)


@lru_cache(maxsize=1024)
def _holiday_set(year: int, black_consciousness: bool) -> frozenset[date]:
    found = {date(year, month, day) for month, day in _FIXED_HOLIDAYS}
    sunday = easter(year)
    found.update(sunday + timedelta(days=offset) for offset in _EASTER_OFFSETS)
    if black_consciousness:
        found.add(date(year, 11, 20))
    return frozenset(found)


@lru_cache(maxsize=2)
def _weekday_holiday_table(new_list: bool) -> tuple[int, ...]:
    """Sorted ordinals of the holidays that fall on a weekday, 1900-2199."""
    return tuple(
        sorted(
            d.toordinal()
            for year in range(_TABLE_FIRST_YEAR, _TABLE_LAST_YEAR + 1)
            for d in _year_holidays(year, new_list)
            if d.weekday() < 5
        )
    )


def _weekdays_before(ordinal: int) -> int:
    """Weekdays among ordinals [1, ordinal); ordinal 1 (0001-01-01) is a Monday."""
    weeks, extra = divmod(ordinal - 1, 7)
    return 5 * weeks + min(extra, 5)


def _count(a: int, b: int, new_list: bool) -> int:
    """Business days among ordinals [a, b), a <= b."""
    if a >= b:
        return 0
    if a >= _TABLE_START and b <= _TABLE_END:
        table = _weekday_holiday_table(new_list)
        off = bisect_left(table, b) - bisect_left(table, a)
    else:
        first, last = date.fromordinal(a), date.fromordinal(b - 1)
        off = sum(
            1
            for year in range(first.year, last.year + 1)
            for d in _year_holidays(year, new_list)
            if d.weekday() < 5 and first <= d <= last
        )
    return _weekdays_before(b) - _weekdays_before(a) - off


def _is_business(ordinal: int, new_list: bool) -> bool:
    return _count(ordinal, ordinal + 1, new_list) == 1
