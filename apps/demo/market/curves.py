"""Rates from the factor paths: the DI1 curve, the real (IPCA) curve, the FX-coupon curve.

DI1 rate for `du` business days ahead, on day i:

    y = E[CDI over min(du, 252) days] + g0(t) level + (1 - f1(t)) slope + f2(t) curvature

with t = du/252 and Nelson-Siegel loadings (decay 1.5 years). g0 keeps the level shock off the
last weeks of the curve, whose rate is pinned by the known CDI.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from apps.demo.market.paths import MarketPaths

_DECAY_YEARS = 1.5
_FRONT_YEARS = 0.25


def _f1(t: float) -> float:
    x = max(t, 1e-9) / _DECAY_YEARS
    return (1.0 - math.exp(-x)) / x


def _f2(t: float) -> float:
    return _f1(t) - math.exp(-max(t, 1e-9) / _DECAY_YEARS)


def di1_rate(paths: MarketPaths, i: int, du: int) -> float:
    t = du / 252
    return (
        paths.expected_cdi(i, min(du, 252))
        + (1.0 - math.exp(-t / _FRONT_YEARS)) * float(paths.level[i])
        + (1.0 - _f1(t)) * float(paths.slope[i])
        + _f2(t) * float(paths.curvature[i])
    )


def real_rate(paths: MarketPaths, i: int, du: int) -> float:
    """IPCA real yield: gently upward sloping, held within 5-7 %."""
    t = du / 252
    value = float(paths.real[i]) + 0.004 * (1.0 - _f1(t)) - 0.002
    return min(max(value, 0.05), 0.07)


def cupom_rate(paths: MarketPaths, i: int, dc: int) -> float:
    """FX coupon (linear, base 360) for `dc` calendar days."""
    return float(paths.cupom[i]) + 0.002 * (1.0 - _f1(dc / 365))


def flat_forward(points: list[tuple[int, float]], du: int) -> float:
    """Rate at `du` by flat-forward interpolation of (du, rate) points, base 252.

    The market's DI1 convention: log discount factors are linear in du between vertices;
    beyond the last vertex the last rate is held flat.
    """
    dus = [p[0] for p in points]
    k = bisect_left(dus, du)
    if k < len(points) and dus[k] == du:
        return points[k][1]
    if k == 0:
        return points[0][1]
    if k == len(points):
        return points[-1][1]
    (du1, r1), (du2, r2) = points[k - 1], points[k]
    a1, a2 = du1 * math.log1p(r1), du2 * math.log1p(r2)
    a = a1 + (a2 - a1) * (du - du1) / (du2 - du1)
    return math.expm1(a / du)
