"""The fat-finger rules as plain maths: levels, units in the messages, the verdict."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.trading import rules
from apps.trading.rules import BLOCK, NA, PASS, WARN, Levels

D = Decimal


@pytest.mark.parametrize(
    ("rule", "value", "levels", "status", "shown"),
    [
        ("QUANTITY", D("99999999999"), Levels(D(20_000), D(100_000)), BLOCK, "99,999,999,999"),
        ("QUANTITY", D("20000"), Levels(D(20_000), D(100_000)), WARN, "20,000"),
        ("QUANTITY", D("2.5"), Levels(D(20_000), D(100_000)), PASS, "2.5000"),
        ("NOTIONAL", D("-1.5"), Levels(D("0.25"), D("1")), BLOCK, "150.00 % of NAV"),
        ("DV01", D("0.0006"), Levels(D("0.0005"), D("0.0025")), WARN, "0.060 % of NAV per bp"),
        ("PRICE_BAND", D("0.3001"), Levels(D("0.05"), D("0.25")), BLOCK, "30.01 %"),
        ("RATE_BAND", D("-30"), Levels(D(25), D(100)), WARN, "30.0 bp"),
    ],
)
def test_a_value_against_its_levels(rule, value, levels, status, shown) -> None:
    result = rules.measure(rule, value, levels, what="x")
    assert result.status == status and result.value == abs(value)
    assert result.message.startswith(f"{rules.LABELS[rule]}: {shown} (x)")


def test_the_defaults_follow_the_kind() -> None:
    assert rules.default_levels("QUANTITY", "DI1") == Levels(D(20_000), D(100_000))
    assert rules.default_levels("QUANTITY", "CASH") == rules.QUANTITY_FALLBACK
    assert rules.default_levels("NOTIONAL", "DI1") == rules.RATE_FUTURES_NOTIONAL
    assert rules.default_levels("NOTIONAL", "EQUITY") == rules.DEFAULTS["NOTIONAL"]


@given(st.lists(st.sampled_from([PASS, WARN, BLOCK, NA])))
def test_the_verdict_is_the_worst_result(statuses: list[str]) -> None:
    verdict = rules.worst(statuses)
    if BLOCK in statuses:
        assert verdict == BLOCK
    elif WARN in statuses:
        assert verdict == WARN
    else:
        assert verdict == PASS
