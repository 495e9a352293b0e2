"""Settlement prices and fixings of the demo market, priced with the real B3/STN formulas.

Django-free: `generate_market` returns plain rows; `store.py` writes them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from apps.demo.market import catalog, curves
from apps.demo.market.inflation import Inflation
from apps.demo.market.paths import EPOCH, MarketPaths, simulate
from apps.demo.market.rows import DemoFixing, DemoMarket, DemoPrice
from apps.marketdata import pricing
from apps.marketdata.calendar import business_days

# Paths run past the end: the DI1 desk sees a year (252 business days) of Copom ahead.
_FORESIGHT = timedelta(days=400)
_LFT_VNA_AT_EPOCH = Decimal("9800.000000")
_PTAX_SPREAD = Decimal("0.0006")  # PTAX venda - compra, in BRL per USD
_NTNB_SPREAD_OVER_DAP = 0.0003
_ES_CARRY = 0.012  # financing minus dividends, annual, on the S&P futures basis
_ZN_ROLL_PER_QUARTER = 0.10


def generate_market(start: date, end: date, *, seed: int) -> DemoMarket:
    """Every demo price and fixing on the business days of [start, end].

    The same seed gives the same numbers, and a date's numbers do not depend on the window
    (see paths.py), so windows can grow without rewriting history.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    # Paths always start at EPOCH, so a day's numbers are the same in every window; only a
    # window reaching before EPOCH starts there instead (same seed, other numbers).
    epoch = min(EPOCH, start)
    paths = simulate(seed, epoch, end + _FORESIGHT)
    builder = _Builder(paths, Inflation(paths))
    market = DemoMarket(start=start, end=end, seed=seed)
    lft_vna = _LFT_VNA_AT_EPOCH
    for i, day in enumerate(paths.days):
        if day > end:
            break
        if i > 0:
            # VNA LFT accrues one business day at the previous day's Selic target (STN).
            lft_vna = pricing.lft_vna_projection(lft_vna, _dec(paths.selic_target[i - 1], 4))
        if day >= start:
            market.dates.append(day)
            builder.day(market, i, day, lft_vna)
    market.fixings += builder.inflation.monthly_fixings(start, end)
    return market


def _dec(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _pct(value: float, places: int) -> Decimal:
    """A rate rounded to `places` decimals in percent, as a decimal fraction."""
    return Decimal(f"{value * 100:.{places}f}").scaleb(-2)


def _step(value: float, tick: float, places: int) -> Decimal:
    """Rounded to the nearest multiple of `tick` (5 index points, a quarter S&P point)."""
    return _dec(round(value / tick) * tick, places)


class _Builder:
    def __init__(self, paths: MarketPaths, inflation: Inflation) -> None:
        self.paths = paths
        self.inflation = inflation

    def day(self, market: DemoMarket, i: int, day: date, lft_vna: Decimal) -> None:
        rows: list[DemoPrice] = []
        curve = self._di1(rows, i, day)
        self._bonds(rows, i, day, curve, lft_vna)
        self._dap(rows, i, day)
        self._fx(rows, i, day)
        self._equity(rows, i, day)
        self._offshore(rows, i, day)
        for row in rows:
            if row.ticker not in market.instruments:
                market.instruments[row.ticker] = catalog.spec(row.ticker)
        market.prices += rows
        market.fixings += self._fixings(i, day, lft_vna)

    # --- rates ------------------------------------------------------------------------------

    def _di1(self, rows: list[DemoPrice], i: int, day: date) -> list[tuple[int, float]]:
        curve = []
        for ticker in catalog.di1_listed(day):
            du = business_days(day, catalog.maturity(ticker))
            # B3 settles DI1 at a rate with 3 decimals in %; the PU follows from it.
            rate = _pct(curves.di1_rate(self.paths, i, du), 3)
            rows.append(DemoPrice(ticker, day, pricing.di1_pu(rate, du), rate))
            curve.append((du, float(rate)))
        return curve

    def _bonds(
        self,
        rows: list[DemoPrice],
        i: int,
        day: date,
        curve: list[tuple[int, float]],
        lft_vna: Decimal,
    ) -> None:
        p = self.paths
        vna_ntnb = self.inflation.vna(day)
        for ticker in catalog.bonds_alive(day):
            maturity = catalog.maturity(ticker)
            du = business_days(day, maturity)
            kind = ticker.split("_")[0]
            # ANBIMA publishes indicative bond yields with 4 decimals in %.
            if kind in ("LTN", "NTNF"):
                rate = _pct(curves.flat_forward(curve, du) + float(p.bond_spread[i]), 4)
                pu = (pricing.ltn_pu if kind == "LTN" else pricing.ntnf_pu)(rate, day, maturity)
            elif kind == "NTNB":
                rate = _pct(curves.real_rate(p, i, du) + _NTNB_SPREAD_OVER_DAP, 4)
                pu = pricing.ntnb_pu(rate, day, maturity, vna_ntnb)
            else:
                rate = _pct(float(p.lft_premium[i]), 4)
                pu = pricing.lft_pu(rate, day, maturity, lft_vna)
            rows.append(DemoPrice(ticker, day, pu, rate))

    def _dap(self, rows: list[DemoPrice], i: int, day: date) -> None:
        for ticker in catalog.dap_listed(day):
            du = business_days(day, catalog.maturity(ticker))
            rate = _pct(curves.real_rate(self.paths, i, du), 3)
            rows.append(DemoPrice(ticker, day, pricing.dap_pu(rate, du), rate))

    # --- FX ---------------------------------------------------------------------------------

    def _fx(self, rows: list[DemoPrice], i: int, day: date) -> None:
        p = self.paths
        spot, cdi = float(p.usdbrl[i]), float(p.cdi[i])
        for ticker in catalog.ddi_listed(day):
            dc = (catalog.maturity(ticker) - day).days
            rate = _pct(curves.cupom_rate(p, i, dc), 3)
            rows.append(DemoPrice(ticker, day, pricing.ddi_pu(rate, dc), rate))
        for ticker in catalog.dol_listed(day):
            dc = (catalog.maturity(ticker) - day).days
            # Covered parity, linear as the desk quotes it: BRL CDI against the FX coupon.
            forward = spot * 1000 * (1 + (cdi - float(p.cupom[i])) * dc / 360)
            price = _dec(forward, 3)
            rows.append(DemoPrice(ticker, day, price))
            rows.append(DemoPrice(catalog.mini(ticker), day, price))

    # --- equities ---------------------------------------------------------------------------

    def _equity(self, rows: list[DemoPrice], i: int, day: date) -> None:
        p = self.paths
        index, cdi = float(p.ibov[i]), float(p.cdi[i])
        for ticker in catalog.ind_listed(day):
            du = business_days(day, catalog.maturity(ticker))
            # Futures carry at the CDI (the Ibovespa dividend yield is ignored); 5-point ticks.
            price = _step(index * (1 + cdi) ** (du / 252), 5, 0)
            rows.append(DemoPrice(ticker, day, price))
            rows.append(DemoPrice(catalog.mini(ticker), day, price))
        rows.append(DemoPrice("BOVA11", day, _dec(index / 1000, 2)))

    def _offshore(self, rows: list[DemoPrice], i: int, day: date) -> None:
        p = self.paths
        for ticker in catalog.offshore_listed(day):
            dc = (catalog.maturity(ticker) - day).days
            if ticker.startswith("ES"):
                price = _step(float(p.spx[i]) * (1 + _ES_CARRY * dc / 365), 0.25, 2)
            else:
                # Treasury futures tick in 1/64 of a point (half a 32nd).
                price = _step(float(p.zn[i]) - _ZN_ROLL_PER_QUARTER * dc / 91, 1 / 64, 6)
            rows.append(DemoPrice(ticker, day, price))

    # --- fixings ----------------------------------------------------------------------------

    def _fixings(self, i: int, day: date, lft_vna: Decimal) -> list[DemoFixing]:
        p = self.paths
        target = _dec(p.selic_target[i], 4)
        cdi = _dec(p.cdi[i], 4)
        ptax_sell = _dec(float(p.usdbrl[i]) * (1 + float(p.ptax_noise[i])), 4)
        return [
            DemoFixing("SELIC_TARGET", day, target),
            DemoFixing("CDI", day, cdi),
            DemoFixing("SELIC", day, cdi),
            DemoFixing("PTAX_SELL", day, ptax_sell),
            DemoFixing("PTAX_BUY", day, ptax_sell - _PTAX_SPREAD),
            DemoFixing("VNA_NTNB", day, self.inflation.vna(day)),
            DemoFixing("VNA_LFT", day, lft_vna),
        ]
