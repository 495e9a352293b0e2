"""Daily mark-to-market of one position (Django-free, Decimal, cents rounded half-up).

Two families, by how B3 and the custodian settle them (`../shared/domain/brazil-markets.md`):

* **Daily-settled futures** (DI1, DAP, DDI, FRC, DOL, WDO, IND, WIN, offshore futures) hold no
  value in the NAV; each day's ajuste is cash. Per contract, in price points:
  carried contracts `PA_t − A2(PA_{t−1} · FC_t)` (FC = 1 without carry, the CDI factor for
  DI1/DAP, CDI over the PTAX change for DDI), contracts traded today `PA_t − PO`. Points ×
  multiplier × quantity × the settlement FX (1 in BRL; PTAX_{t−1} for DDI/FRC, PTAX_t for
  offshore futures), each part A-2. The broker's worked example rounds `PA_{t−1} · FC` to cents
  before subtracting, and so do we.
* **Cash instruments** (bonds, equities, ETFs, FX spot) hold their market value
  `A2(P · q · M · FX)`; the day's P&L is `MV_t − MV_{t−1}` plus the day's trade cash and coupons.
  USD instruments split it: FX P&L is what the FX move did to today's value (the quantity held
  since yesterday moved from PTAX_{t−1} to PTAX_t, today's fills from their trade PTAX); price
  P&L is the rest.

Realised and unrealised: a reduction of the open quantity moves the same fraction of the open
P&L (futures: cumulative ajustes of the open contracts; cash: market value − cost basis) to
realised, so `realised + unrealised = cumulative P&L` holds to the cent, every day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")


def a2(x: Decimal) -> Decimal:
    """Round half-up to cents."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


@dataclass(frozen=True)
class Terms:
    """How an instrument settles, as the MTM engine needs it."""

    multiplier: Decimal
    daily_settled: bool
    is_usd: bool = False


@dataclass(frozen=True)
class Fill:
    signed_quantity: Decimal
    price: Decimal
    fx: Decimal = ONE
    fees: Decimal = ZERO  # BRL, positive = paid


@dataclass(frozen=True)
class Carry:
    """What was carried from the previous mark (all zero for a new position)."""

    quantity: Decimal = ZERO
    price: Decimal = ZERO
    fx: Decimal = ONE
    market_value: Decimal = ZERO
    cost_basis: Decimal = ZERO  # cash instruments: signed entry value in BRL
    open_pnl: Decimal = ZERO  # futures: cumulative ajustes of the open contracts
    realized: Decimal = ZERO
    cum_pnl: Decimal = ZERO


@dataclass(frozen=True)
class Market:
    """Today's inputs for one instrument."""

    price: Decimal  # settlement price / PU
    fx: Decimal = ONE  # PTAX_t for USD instruments
    settle_fx: Decimal = ONE  # FX that converts a futures ajuste to BRL
    carry_factor: Decimal = ONE  # FC_t applied to PA_{t−1}
    implied_factor: Decimal = ONE  # (1 + i_{t−1})^(1/252): the PU's own roll at its rate
    coupon: Decimal = ZERO  # coupon cash per unit paid since the previous mark
    dv01_per_unit: Decimal = ZERO  # BRL P&L per unit for +1 bp (negative for long PU)


@dataclass
class Mark:
    quantity: Decimal
    price: Decimal
    fx: Decimal
    notional: Decimal
    exposure: Decimal
    market_value: Decimal
    dv01: Decimal
    pnl_price: Decimal
    pnl_fx: Decimal
    pnl_carry: Decimal
    fees: Decimal
    cash_flow: Decimal
    realized: Decimal
    unrealized: Decimal
    cum_pnl: Decimal
    cost_basis: Decimal
    open_pnl: Decimal
    parts: list[str] = field(default_factory=list)

    @property
    def pnl(self) -> Decimal:
        return self.pnl_price + self.pnl_fx


def _split(quantity: Decimal, signed_qty: Decimal) -> tuple[Decimal, Decimal]:
    """A fill split into the part that closes the open quantity and the part that opens."""
    if quantity == 0 or _sign(quantity) == _sign(signed_qty):
        return ZERO, signed_qty
    closing = -_sign(quantity) * min(abs(quantity), abs(signed_qty))
    return Decimal(closing), signed_qty - closing


def mark_future(terms: Terms, carry: Carry, fills: list[Fill], market: Market) -> Mark:
    """Daily settlement (ajuste) of a futures position, in BRL."""
    m, fx = terms.multiplier, market.settle_fx
    # B3 rounds PA_{t−1} · FC to cents for carried rate futures; without a carry factor the
    # previous settlement is used as published (DOL has 3 decimals, ZN 1/64 ticks).
    if market.carry_factor == ONE:
        carried_price = carry.price
    else:
        carried_price = a2(carry.price * market.carry_factor)
    carried = a2((market.price - carried_price) * carry.quantity * m * fx)
    pnl_carry = ZERO
    if carry.quantity and market.carry_factor != ONE:
        rolled = carry.price * market.implied_factor
        pnl_carry = a2((rolled - carry.price * market.carry_factor) * carry.quantity * m * fx)
    quantity, open_pnl, realized = carry.quantity, carry.open_pnl + carried, carry.realized
    pnl = carried
    for fill in fills:
        closing, opening = _split(quantity, fill.signed_quantity)
        if closing:
            moved = a2(open_pnl * abs(closing) / abs(quantity))
            open_pnl -= moved
            closing_ajuste = a2((market.price - fill.price) * closing * m * fx)
            realized += moved + closing_ajuste
            pnl += closing_ajuste
            quantity += closing
        if opening:
            opening_ajuste = a2((market.price - fill.price) * opening * m * fx)
            open_pnl += opening_ajuste
            pnl += opening_ajuste
            quantity += opening
    if quantity == 0:  # nothing open: whatever is left (rounding) is realised
        realized, open_pnl = realized + open_pnl, ZERO
    notional = a2(market.price * quantity * m * fx)
    return Mark(
        quantity=quantity,
        price=market.price,
        fx=market.fx,
        notional=abs(notional),
        exposure=notional,
        market_value=ZERO,
        dv01=a2(market.dv01_per_unit * quantity),
        pnl_price=pnl,
        pnl_fx=ZERO,
        pnl_carry=pnl_carry,
        fees=-sum((f.fees for f in fills), ZERO),
        cash_flow=pnl,
        realized=realized,
        unrealized=open_pnl,
        cum_pnl=carry.cum_pnl + pnl,
        cost_basis=ZERO,
        open_pnl=open_pnl,
    )


def mark_cash(terms: Terms, carry: Carry, fills: list[Fill], market: Market) -> Mark:
    """Market value and P&L of a cash instrument (bond, equity, ETF, FX), in BRL."""
    m = terms.multiplier
    quantity, cost, realized = carry.quantity, carry.cost_basis, carry.realized
    coupons = a2(market.coupon * carry.quantity * m * carry.fx)
    realized += coupons
    cash = coupons
    fx_pnl = (
        a2(carry.quantity * market.price * m * (market.fx - carry.fx)) if terms.is_usd else ZERO
    )
    for fill in fills:
        closing, opening = _split(quantity, fill.signed_quantity)
        if closing:
            cash_part = -a2(closing * fill.price * m * fill.fx)
            released = a2(cost * abs(closing) / abs(quantity))
            realized += cash_part - released
            cost -= released
            cash += cash_part
            quantity += closing
        if opening:
            cash_part = -a2(opening * fill.price * m * fill.fx)
            cost -= cash_part
            cash += cash_part
            quantity += opening
        if terms.is_usd:
            fx_pnl += a2(fill.signed_quantity * market.price * m * (market.fx - fill.fx))
    if quantity == 0:
        realized, cost = realized - cost, ZERO
    market_value = a2(market.price * quantity * m * market.fx)
    total = market_value - carry.market_value + cash
    return Mark(
        quantity=quantity,
        price=market.price,
        fx=market.fx,
        notional=abs(market_value),
        exposure=market_value,
        market_value=market_value,
        dv01=a2(market.dv01_per_unit * quantity),
        pnl_price=total - fx_pnl,
        pnl_fx=fx_pnl,
        pnl_carry=ZERO,
        fees=-sum((f.fees for f in fills), ZERO),
        cash_flow=cash,
        realized=realized,
        unrealized=market_value - cost,
        cum_pnl=carry.cum_pnl + total,
        cost_basis=cost,
        open_pnl=market_value - cost,
    )


def mark_position(terms: Terms, carry: Carry, fills: list[Fill], market: Market) -> Mark:
    """The day's mark of one position, by its settlement family."""
    if terms.daily_settled:
        return mark_future(terms, carry, fills, market)
    return mark_cash(terms, carry, fills, market)
