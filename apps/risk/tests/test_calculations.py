"""Golden tests of the VaR conventions on a known 252-day P&L vector."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.risk import calculations as calc

# A known vector: 1..252 thousand of losses and gains, shuffled deterministically.
PNL = np.array([(i - 126) * 1000.0 for i in range(252)])
np.random.default_rng(1).shuffle(PNL)


def test_quantile_index_convention() -> None:
    assert calc.quantile_index(252, 0.99) == 3  # ceil(2.52)
    assert calc.quantile_index(252, 0.95) == 13  # ceil(12.6)
    assert calc.quantile_index(252, 0.975) == 7  # ceil(6.3)
    assert calc.quantile_index(100, 0.99) == 1
    assert calc.quantile_index(10, 0.99) == 1


def test_var_99_is_the_third_worst_loss() -> None:
    # Sorted ascending the P&L is −126k, −125k, −124k, … : the 3rd worst is −124,000.
    result = calc.historical_var(PNL, 0.99)
    assert result.var == 124_000.0
    assert PNL[result.scenario] == -124_000.0
    assert calc.historical_var(PNL, 0.95).var == 114_000.0  # 13th worst


def test_es_975_is_the_mean_of_the_seven_worst() -> None:
    assert calc.expected_shortfall(PNL, 0.975) == pytest.approx(123_000.0)  # mean(126..120)k


def test_parametric_var_is_z_sigma() -> None:
    sigma = float(np.sqrt(np.mean(PNL**2)))
    assert calc.parametric_var(PNL, 0.99) == pytest.approx(2.3263478740408408 * sigma)


def test_empty_history_gives_zero_not_a_crash() -> None:
    empty = np.zeros(0)
    assert calc.historical_var(empty, 0.99).var == 0.0
    assert calc.expected_shortfall(empty, 0.975) == 0.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=300), st.integers(1, 5))
def test_component_var_adds_up_to_the_total(values, groups) -> None:
    rng = np.random.default_rng(len(values))
    parts = {f"g{i}": np.array(values) * w for i, w in enumerate(rng.dirichlet([1] * groups))}
    total = sum(parts.values())
    var = calc.historical_var(total, 0.99)
    components = calc.component_var(parts, var.scenario)
    assert sum(components.values()) == pytest.approx(var.var, abs=1e-6)


def test_flat_forward_interpolation_hits_the_vertices() -> None:
    du = np.array([21.0, 252.0, 504.0])
    rates = np.array([0.13, 0.14, 0.145])
    assert calc.interpolate_rates(du, du, rates) == pytest.approx(rates)
    between = calc.interpolate_rates(378.0, du, rates)[0]
    assert 0.14 < between < 0.145


def test_bucket_weights_split_linearly() -> None:
    vertices = np.array([21.0, 252.0, 504.0])
    assert calc.bucket_weights(378.0, vertices) == pytest.approx([0, 0.5, 0.5])
    assert calc.bucket_weights(10.0, vertices) == pytest.approx([1, 0, 0])
    assert calc.bucket_weights(900.0, vertices) == pytest.approx([0, 0, 1])
