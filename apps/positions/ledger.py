"""Position-keeping rules (Django-free): how one trade changes a position.

Average-cost method. The quantity is signed (short < 0). For a trade of signed quantity `dq` at
price `p` on a position `q` at average cost `a`:

- open (q = 0): q = dq, a = p, opened on the trade date;
- add (same sign): a = (|q|·a + |dq|·p) / (|q| + |dq|), A-8;
- reduce or close (opposite sign, |dq| <= |q|): realise (p − a)·|dq|·sign(q)·M·fx, A-2;
  a is kept while open, reset to 0 when flat, and the position is closed on the trade date;
- flip (opposite sign, |dq| > |q|): close all of q as above, then open the remainder at p on
  the trade date.

`realized` here is the trading P&L in price terms (× multiplier × the trade's FX). For
instruments whose daily settlement carries CDI (DI1, DAP, DDI) it excludes that carry; the P&L
the fund books is the daily marks', which include it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.00000001")
ZERO = Decimal("0")


@dataclass(frozen=True)
class PositionState:
    quantity: Decimal = ZERO
    avg_cost: Decimal = ZERO
    realized: Decimal = ZERO
    opened: date | None = None
    closed: date | None = None


@dataclass(frozen=True)
class Fill:
    signed_quantity: Decimal
    price: Decimal
    day: date
    multiplier: Decimal = Decimal("1")
    fx: Decimal = Decimal("1")


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def _realise(state: PositionState, closed_qty: Decimal, fill: Fill) -> Decimal:
    pnl = (fill.price - state.avg_cost) * closed_qty * _sign(state.quantity)
    return (pnl * fill.multiplier * fill.fx).quantize(CENT, rounding=ROUND_HALF_UP)


def apply_fill(state: PositionState, fill: Fill) -> PositionState:
    """The position after one fill, by the rules in the module docstring."""
    q, dq = state.quantity, fill.signed_quantity
    if dq == 0:
        raise ValueError("A fill must have a non-zero quantity.")
    if q == 0:
        return PositionState(dq, fill.price, state.realized, fill.day, None)
    if _sign(q) == _sign(dq):
        avg = (abs(q) * state.avg_cost + abs(dq) * fill.price) / (abs(q) + abs(dq))
        return replace(
            state,
            quantity=q + dq,
            avg_cost=avg.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP),
        )
    closed_qty = min(abs(dq), abs(q))
    realized = state.realized + _realise(state, closed_qty, fill)
    remaining = q + dq
    if remaining == 0:
        return PositionState(ZERO, ZERO, realized, state.opened, fill.day)
    if _sign(remaining) == _sign(q):
        return replace(state, quantity=remaining, realized=realized)
    return PositionState(remaining, fill.price, realized, fill.day, None)  # flip


def replay_fills(fills: list[Fill]) -> PositionState:
    """The position that a sequence of fills produces from flat."""
    state = PositionState()
    for fill in fills:
        state = apply_fill(state, fill)
    return state
