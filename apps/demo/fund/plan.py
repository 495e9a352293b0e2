"""The demo fund's trade plan: which orders Demo Macro FIM sends on each day (Django-free).

`plan_fund(market, seed)` walks the business days from the fund's inception and yields, per
day, the orders (priced at the day's DEMO settlement ± a tick of slippage), capital flows and
position notes of a scripted global-macro book (`book.py`). A day's plan depends only on that
day, the days before it and the seed, never on where the window ends: a longer market replays
the same history and only adds days, which is what lets `seed_fund` continue a fund.

Three kinds of decisions, in this order each day:

1. **Rolls**: a holding whose contract is within its slot's `roll_du` business days of maturity
   is closed and re-opened in the contract the slot would pick today (a B3 future a few days
   before expiry, a DI1 or a bond when it no longer sits at its point of the curve). DI1 slots
   are sized in DV01, so the new quantity keeps the risk, not the contract count.
2. **Script**: opens, adds, partial closes, full closes and flips on fixed business-day offsets
   from inception, plus a few capital flows.
3. **Tactical**: two slots (mini dollar, mini index) lean against the last month's move of the
   underlying, flipping when it runs more than a threshold the way they are positioned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from apps.demo.fund.book import FLAGSHIP, Fade, Script, Slot
from apps.marketdata import pricing
from apps.marketdata.calendar import business_days

BUY, SELL = "BUY", "SELL"
CENT = Decimal("0.01")
BP = Decimal("0.0001")
_SLIPPAGE_STREAM = 0x5EED  # the fund's own numpy stream, apart from the market's
_TACTICAL_EVERY = 5  # business days between two looks at the tactical signals

# One tick of slippage: rate-quoted instruments in rate (0.1 bp; B3 quotes DI1 to 0.1 bp),
# price-quoted ones in their price tick.
_RATE_TICK = Decimal("0.00001")
_PRICE_TICK = {
    "DOL": Decimal("0.5"),
    "WDO": Decimal("0.5"),
    "IND": Decimal("5"),
    "WIN": Decimal("5"),
    "ETF": Decimal("0.01"),
    "ES": Decimal("0.25"),
    "ZN": Decimal("0.015625"),  # 1/64 of a point
}
# Exchange + broker fees: R$ per contract for B3 futures, USD per contract offshore, basis points
# of the financial value for bonds and the ETF.
_FEE_PER_CONTRACT = {
    "DI1": Decimal("1.20"),
    "DAP": Decimal("1.50"),
    "DDI": Decimal("2.50"),
    "DOL": Decimal("3.50"),
    "WDO": Decimal("1.00"),
    "IND": Decimal("2.00"),
    "WIN": Decimal("0.40"),
}
_OFFSHORE_FEE_USD = Decimal("2.50")
_FEE_BPS = {"LTN": Decimal("0.5"), "NTNB": Decimal("0.5"), "ETF": Decimal("3")}


@dataclass(frozen=True)
class Quote:
    price: Decimal  # settlement price or PU
    rate: Decimal | None = None


@dataclass(frozen=True)
class Contract:
    ticker: str
    kind: str
    maturity: date | None
    rate_quoted: bool


@dataclass
class Market:
    """What the plan looks at: DEMO settlements, contract terms and PTAX on each business day."""

    days: list[date]  # from the fund's inception, in order
    quotes: dict[date, dict[str, Quote]]
    contracts: dict[str, Contract]
    ptax: dict[date, Decimal]


@dataclass(frozen=True)
class Order:
    strategy: str
    ticker: str
    side: str
    quantity: Decimal
    price: Decimal | None  # price-quoted instruments
    rate: Decimal | None  # rate-quoted: the engine derives the PU
    fees: Decimal
    note: str


@dataclass(frozen=True)
class Flow:
    kind: str  # SUBSCRIPTION / REDEMPTION
    amount: Decimal
    note: str


@dataclass(frozen=True)
class PlanNote:
    """The manager's thesis, stop and target for a position opened that day."""

    strategy: str
    ticker: str
    thesis: str
    stop: Decimal | None
    target: Decimal | None


@dataclass
class DayPlan:
    day: date
    orders: list[Order] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    notes: list[PlanNote] = field(default_factory=list)


@dataclass
class _Holding:
    ticker: str
    quantity: int  # signed
    weight: float  # signed multiple of the slot's full size


def plan_fund(market: Market, *, seed: int, script: Script = FLAGSHIP) -> Iterator[DayPlan]:
    """The fund's plan (`script`: Demo Macro FIM by default) for each of `market.days`."""
    planner = _Planner(market, seed, script)
    for k, day in enumerate(market.days):
        yield planner.day(k, day)


def month_letter(ticker: str) -> str:
    """The contract-month letter of a B3 (DI1F27) or CME (ESZ26) future code; "" otherwise."""
    if len(ticker) == 6 and ticker[3].isalpha() and ticker[4:].isdigit():
        return ticker[3]
    if len(ticker) == 5 and ticker[2].isalpha() and ticker[3:].isdigit():
        return ticker[2]
    return ""


class _Planner:
    def __init__(self, market: Market, seed: int, script: Script) -> None:
        self.market, self.seed, self.script = market, seed, script
        self.book: dict[str, _Holding] = {}
        self.slots = {slot.name: slot for slot in script.slots}

    def day(self, k: int, day: date) -> DayPlan:
        self.k, self.today = k, day
        self.quotes = self.market.quotes[day]
        stream = [_SLIPPAGE_STREAM, *([self.script.stream] if self.script.stream else [])]
        self.rng = np.random.default_rng([self.seed, *stream, day.toordinal()])
        self.plan = DayPlan(day)
        for slot in self.script.slots:
            if slot.name in self.book:
                self._maybe_roll(slot)
        for name, action, fraction in self.script.events.get(k, ()):
            self._act(self.slots[name], action, fraction)
        for kind, amount, note in self.script.flows.get(k, ()):
            self.plan.flows.append(Flow(kind, Decimal(amount), note))
        if k >= 2 and k % _TACTICAL_EVERY == 2:
            for name, signal in self.script.tactical.items():
                self._fade(self.slots[name], signal)
        return self.plan

    # --- choosing and sizing contracts ------------------------------------------------------

    def _du(self, ticker: str) -> int:
        maturity = self.market.contracts[ticker].maturity
        return business_days(self.today, maturity) if maturity else 1_000_000

    def _pick(self, slot: Slot) -> str | None:
        """Today's contract for `slot`: the one nearest its point of the curve, not too close
        to maturity and not already held by another slot of the same strategy."""
        pick = slot.pick
        taken = {
            h.ticker
            for name, h in self.book.items()
            if name != slot.name and self.slots[name].strategy == slot.strategy
        }
        candidates = []
        for ticker in self.quotes:
            if not ticker.startswith(pick.family) or ticker in taken:
                continue
            if pick.months and month_letter(ticker) not in pick.months:
                continue
            du = self._du(ticker)
            if du > pick.roll_du:
                candidates.append((abs(du - pick.du), du, ticker))
        return min(candidates)[2] if candidates else None

    def _full_size(self, slot: Slot, ticker: str) -> int:
        size = slot.size
        if not size.dv01:
            return size.units
        quote = self.quotes[ticker]
        assert quote.rate is not None, ticker
        per_contract = float(pricing.di1_dv01(quote.rate, self._du(ticker)))
        return _round_lot(size.dv01 / per_contract, size.lot)

    # --- the three kinds of decisions ------------------------------------------------------

    def _maybe_roll(self, slot: Slot) -> None:
        held = self.book[slot.name]
        if self._du(held.ticker) > slot.pick.roll_du:
            return
        self._trade(slot, held.ticker, -held.quantity, "roll out")
        del self.book[slot.name]
        new = self._pick(slot)
        if new is None:
            return
        quantity = _round_lot(abs(held.weight) * self._full_size(slot, new), slot.size.lot)
        signed = quantity if held.weight > 0 else -quantity
        self._trade(slot, new, signed, f"roll in from {held.ticker}")
        self.book[slot.name] = _Holding(new, signed, held.weight)
        if slot.thesis:  # the plan moves to the new contract with the position
            self._note(slot, new, 1 if signed > 0 else -1)

    def _act(self, slot: Slot, action: str, fraction: float) -> None:
        held = self.book.get(slot.name)
        if action in (BUY, SELL):
            if held is not None:
                return
            ticker = self._pick(slot)
            if ticker is None:
                return
            direction = 1 if action == BUY else -1
            quantity = direction * self._full_size(slot, ticker)
            self._trade(slot, ticker, quantity, "open")
            self.book[slot.name] = _Holding(ticker, quantity, float(direction))
            if slot.thesis:
                self._note(slot, ticker, direction)
            return
        if held is None:
            return
        direction = 1 if held.quantity > 0 else -1
        if action == "add":
            change = direction * _round_lot(abs(held.quantity) * fraction, slot.size.lot)
            held.weight *= 1 + fraction
            note = f"add {fraction:.0%}"
        elif action == "cut":
            change = -direction * _round_lot(abs(held.quantity) * fraction, slot.size.lot)
            held.weight *= 1 - fraction
            note = f"partial close {fraction:.0%}"
        elif action == "close":
            change, note = -held.quantity, "close"
        elif action == "flip":
            change, note = -2 * held.quantity, "flip"
            held.weight = -held.weight
        else:
            raise ValueError(f"unknown action {action!r}")
        self._trade(slot, held.ticker, change, note)
        held.quantity += change
        if held.quantity == 0:
            del self.book[slot.name]

    def _fade(self, slot: Slot, signal: Fade) -> None:
        """Hold the tactical slot against the last month's move, with hysteresis."""
        days = self.market.days
        now = self._level(signal.series, days[self.k])
        then = self._level(signal.series, days[max(0, self.k - signal.lookback)])
        move = float(now / then) - 1
        held = self.book.get(slot.name)
        if held is None:
            self._act(slot, SELL if move >= 0 else BUY, 1.0)
        elif abs(move) >= signal.threshold and (move > 0) == (held.quantity > 0):
            self._act(slot, "flip", 1.0)

    def _level(self, series: str, day: date) -> Decimal:
        if series == "PTAX":
            return self.market.ptax[day]
        return self.market.quotes[day][series].price

    # --- orders -----------------------------------------------------------------------------

    def _trade(self, slot: Slot, ticker: str, signed: int, note: str) -> None:
        if signed == 0:
            return
        contract, quote = self.market.contracts[ticker], self.quotes[ticker]
        side = BUY if signed > 0 else SELL
        quantity = Decimal(abs(signed))
        # Slippage against the fund: 0 or 1 tick, paying up to buy and giving in to sell.
        ticks = int(self.rng.integers(0, 2))
        price = rate = None
        if contract.rate_quoted:
            assert quote.rate is not None, ticker
            # Buying PU is receiving rate: a worse fill is a lower rate.
            rate = quote.rate + (-1 if side == BUY else 1) * ticks * _RATE_TICK
        else:
            tick = _PRICE_TICK[ticker[:2] if contract.kind == "OFFSHORE_FUTURE" else _root(ticker)]
            price = quote.price + (1 if side == BUY else -1) * ticks * tick
        self.plan.orders.append(
            Order(
                strategy=slot.strategy,
                ticker=ticker,
                side=side,
                quantity=quantity,
                price=price,
                rate=rate,
                fees=self._fees(contract, quantity, quote),
                note=f"{slot.name}: {note}",
            )
        )

    def _fees(self, contract: Contract, quantity: Decimal, quote: Quote) -> Decimal:
        if contract.kind in _FEE_PER_CONTRACT:
            fees = _FEE_PER_CONTRACT[contract.kind] * quantity
        elif contract.kind == "OFFSHORE_FUTURE":
            fees = _OFFSHORE_FEE_USD * quantity * self.market.ptax[self.today]
        else:
            fees = quote.price * quantity * _FEE_BPS[contract.kind] * BP
        return fees.quantize(CENT, rounding=ROUND_HALF_UP)

    def _note(self, slot: Slot, ticker: str, direction: int) -> None:
        """Stop and target: for DI1 a rate move in bp turned into PUs, otherwise a % of price."""
        quote, stop, target = self.quotes[ticker], slot.stop, slot.target
        if self.market.contracts[ticker].kind == "DI1":
            assert quote.rate is not None
            du = self._du(ticker)
            # Long PU (receiving) loses when the rate rises.
            stop_pu = pricing.di1_pu(quote.rate + direction * Decimal(str(stop)) * BP, du)
            target_pu = pricing.di1_pu(quote.rate - direction * Decimal(str(target)) * BP, du)
        else:
            stop_pu = quote.price * (1 - direction * Decimal(str(stop)))
            target_pu = quote.price * (1 + direction * Decimal(str(target)))
        self.plan.notes.append(
            PlanNote(
                strategy=slot.strategy,
                ticker=ticker,
                thesis=slot.thesis,
                stop=stop_pu.quantize(CENT, rounding=ROUND_HALF_UP),
                target=target_pu.quantize(CENT, rounding=ROUND_HALF_UP),
            )
        )


def _root(ticker: str) -> str:
    return "ETF" if ticker == "BOVA11" else ticker[:3]


def _round_lot(quantity: float, lot: int) -> int:
    return max(lot, round(quantity / lot) * lot)
