"""Risk maths (Django-free, numpy float64): curve shocks, revaluation, VaR, ES, components.

Conventions (stated once, used everywhere):

* A scenario is one row of factor moves: rate vertices in decimal (0.0001 = 1 bp), prices as
  simple returns. Historical scenarios are the last N daily moves (N = 252 when available).
* P&L vectors are in BRL, one entry per scenario; losses are negative.
* **Historical VaR at confidence c** is the k-th worst P&L with k = ceil(N · (1 − c)), sign
  flipped: with N = 252, VaR 99 % is the 3rd worst loss and VaR 95 % the 13th. No
  interpolation: the number is a P&L that happened.
* **Expected shortfall at c** is the mean of the k worst P&Ls with k = ceil(N · (1 − c)),
  sign flipped: ES 97.5 % over 252 days is the mean of the 7 worst.
* **Parametric VaR** is z_c · σ of the same P&L vector (mean taken as zero, 1 day).
* **Component VaR** of a group is minus its P&L in the scenario that sets the total VaR, so
  the components add up exactly to the total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

Z = {0.95: 1.6448536269514722, 0.99: 2.3263478740408408}


def quantile_index(n: int, confidence: float) -> int:
    """k of the k-th worst scenario for a confidence level (see module docstring)."""
    return max(1, math.ceil(round(n * (1 - confidence), 10)))


@dataclass(frozen=True)
class VarResult:
    var: float
    scenario: int  # index into the P&L vector of the scenario that sets the VaR
    n: int


def historical_var(pnl: Array, confidence: float) -> VarResult:
    """Historical VaR (positive number = loss) and the scenario that sets it."""
    if pnl.size == 0:
        return VarResult(0.0, -1, 0)
    k = quantile_index(pnl.size, confidence)
    order = np.argsort(pnl, kind="stable")
    scenario = int(order[k - 1])
    return VarResult(float(-pnl[scenario]), scenario, int(pnl.size))


def expected_shortfall(pnl: Array, confidence: float) -> float:
    """Mean of the k worst P&Ls, sign flipped."""
    if pnl.size == 0:
        return 0.0
    k = quantile_index(pnl.size, confidence)
    return float(-np.sort(pnl)[:k].mean())


def parametric_var(pnl: Array, confidence: float) -> float:
    """z · σ of the scenario P&L (zero mean)."""
    if pnl.size < 2:
        return 0.0
    sigma = float(np.sqrt(np.mean(pnl**2)))
    return Z[confidence] * sigma


def component_var(group_pnl: dict[str, Array], scenario: int) -> dict[str, float]:
    """Each group's share of the historical VaR: minus its P&L in the VaR scenario."""
    if scenario < 0:
        return {name: 0.0 for name in group_pnl}
    return {name: float(-pnl[scenario]) for name, pnl in group_pnl.items()}


# --- curves ---------------------------------------------------------------------------------


def interpolate_rates(du: Array | float, vertex_du: Array, vertex_rates: Array) -> Array:
    """Flat-forward interpolation (linear in log discount factor), flat beyond the ends."""
    du_arr = np.atleast_1d(np.asarray(du, dtype=float))
    log_df = vertex_du / 252.0 * np.log1p(vertex_rates)
    clipped = np.clip(du_arr, vertex_du[0], vertex_du[-1])
    interpolated = np.interp(clipped, vertex_du, log_df)
    rates = np.expm1(interpolated / (clipped / 252.0))
    return rates


def shift_matrix_at(du: Sequence[float], vertex_du: Array, shifts: Array) -> Array:
    """Shifts for several terms at once: shape (scenarios, len(du))."""
    du_arr = np.asarray(du, dtype=float)
    idx = np.clip(np.searchsorted(vertex_du, du_arr), 1, len(vertex_du) - 1)
    lo, hi = vertex_du[idx - 1], vertex_du[idx]
    weight = np.clip((du_arr - lo) / (hi - lo), 0.0, 1.0)
    return shifts[:, idx - 1] * (1 - weight) + shifts[:, idx] * weight


def bucket_weights(du: float, vertex_du: Array) -> Array:
    """How a sensitivity at `du` splits over the vertices (linear, adds up to 1)."""
    weights = np.zeros(len(vertex_du))
    if du <= vertex_du[0]:
        weights[0] = 1.0
    elif du >= vertex_du[-1]:
        weights[-1] = 1.0
    else:
        hi = int(np.searchsorted(vertex_du, du))
        lo = hi - 1
        w = (du - vertex_du[lo]) / (vertex_du[hi] - vertex_du[lo])
        weights[lo], weights[hi] = 1 - w, w
    return weights


# --- revaluation ----------------------------------------------------------------------------


def pu_252(rate: Array | float, du: float, notional: float = 100_000.0) -> Array:
    """100,000 / (1 + r)^(du/252) — DI1, DAP; the float twin of pricing.di1_pu."""
    return notional / np.power(1.0 + np.asarray(rate, dtype=float), du / 252.0)


def pu_linear_360(rate: Array | float, dc: float) -> Array:
    """100,000 / (1 + r · dc/360) — DDI."""
    return 100_000.0 / (1.0 + np.asarray(rate, dtype=float) * dc / 360.0)


def pu_cash_flows(
    rate: Array | float, flows: Sequence[float], flow_du: Sequence[float], shifts: Array | None
) -> Array:
    """Σ CF_k / (1 + r + s_k)^(du_k/252) for bonds; `shifts` (scenarios × flows) or None."""
    r = np.asarray(rate, dtype=float)
    cf = np.asarray(flows, dtype=float)
    t = np.asarray(flow_du, dtype=float) / 252.0
    if shifts is None:
        return np.atleast_1d(np.sum(cf / np.power(1.0 + r, t)))
    return np.sum(cf / np.power(1.0 + r + shifts, t), axis=1)
