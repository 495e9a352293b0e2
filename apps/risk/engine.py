"""The risk engine: positions → scenario P&L → metrics (exposures, DV01 ladder, VaR, ES,
components, concentration, stress). Historical scenarios are revalued in numpy (float64);
stress scenarios fully in Decimal through `marketdata.valuation`, so a stress P&L equals the
book's own repricing to the cent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from apps.marketdata.valuation import RateTerms, pu_at
from apps.risk import calculations as calc
from apps.risk.factors import DAP_VERTICES, DI_VERTICES, FactorHistory

CURVE_KINDS = {"DI1": "di", "LTN": "di", "NTNF": "di", "DAP": "dap", "NTNB": "dap"}
FX_COUPON_KINDS = ("DDI", "FRC")  # cupom cambial: a rate leg and a USD/BRL leg
CENT = Decimal("0.01")
ONE = Decimal(1)


@dataclass
class RiskPosition:
    """One position as the engine sees it: plain numbers, no ORM."""

    key: str
    strategy: str
    asset_class: str
    ticker: str
    kind: str
    currency: str
    quantity: Decimal
    price: Decimal  # PU or price
    rate: Decimal | None
    maturity: date | None
    du: int
    unit_value: Decimal  # BRL per point of price per unit (multiplier × settlement FX)
    exposure: Decimal  # BRL, signed
    dv01: Decimal  # BRL for +1 bp, signed
    factor: str | None  # linear factor name
    dc: int = 0  # calendar days to maturity (DDI, FRC)
    vna: Decimal | None = None
    flows: list[tuple[float, float]] = field(default_factory=list)  # (du, cash per unit) bonds


@dataclass
class StressResult:
    code: str
    name: str
    kind: str
    pnl: float
    pct_nav: float
    by_strategy: dict[str, float]
    source: str = ""


@dataclass
class RiskReport:
    asof: str
    nav: float
    positions: int
    scenarios: int
    gross: float
    net: float
    gross_pct: float
    net_pct: float
    fx_delta_usd: float
    var95: float
    var99: float
    es975: float
    pvar95: float
    pvar99: float
    var99_date: str | None
    dv01_total: float
    dv01_ladder: dict[str, dict[str, float]]
    component_var99: dict[str, float]
    component_var99_asset: dict[str, float]
    exposures: dict[str, dict[str, float]]
    concentration: list[dict[str, Any]]
    stress: list[StressResult]
    warnings: list[str]
    pnl_history: list[float] = field(default_factory=list)
    # Business days of the VaR window missing prices: {"date", "instruments"} (see factors.py)
    history_gaps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def worst_stress(self) -> StressResult | None:
        return min(self.stress, key=lambda s: s.pnl) if self.stress else None

    def pct(self, value: float) -> float:
        return value / self.nav if self.nav else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def scenario_pnl(position: RiskPosition, history: FactorHistory) -> np.ndarray:
    """The position's BRL P&L under every historical scenario."""
    n = history.size
    q, unit = float(position.quantity), float(position.unit_value)
    curve = CURVE_KINDS.get(position.kind)
    if curve and position.rate is not None and position.du > 0:
        vertices = DI_VERTICES if curve == "di" else DAP_VERTICES
        shifts = history.di if curve == "di" else history.dap
        rate = float(position.rate)
        if position.flows:
            flow_du = [du for du, _cf in position.flows]
            cash = [cf for _du, cf in position.flows]
            shift = calc.shift_matrix_at(flow_du, vertices, shifts)
            base = calc.pu_cash_flows(rate, cash, flow_du, None)[0]
            return (calc.pu_cash_flows(rate, cash, flow_du, shift) - base) * q * unit
        shift = calc.shift_matrix_at([position.du], vertices, shifts)[:, 0]
        return (calc.pu_252(rate + shift, position.du) - calc.pu_252(rate, position.du)) * q * unit
    if position.kind in FX_COUPON_KINDS and position.rate is not None and position.maturity:
        # BRL value = PU · USD 0.50 · PTAX: the cupom leg moves the PU, USD/BRL the conversion
        # (the MTM pays the ajuste at PTAX), so a scenario moves both, compounded.
        cupom = history.linear.get("CUPOM", np.zeros(n))
        fx = history.linear.get("USDBRL", np.zeros(n))
        rate, dc = float(position.rate), position.dc
        moved = calc.pu_linear_360(rate + cupom, dc) * (1 + fx)
        return (moved - calc.pu_linear_360(rate, dc)) * q * unit
    factor = position.factor
    if factor is None:
        return np.zeros(n)
    move = history.linear.get(factor, np.zeros(n))
    exposure = float(position.exposure)
    if position.currency == "USD" and factor != "USDBRL" and not position.kind.endswith("FUTURE"):
        fx = history.linear.get("USDBRL", np.zeros(n))
        return exposure * ((1 + move) * (1 + fx) - 1)
    return exposure * move


Identity = tuple[Any, ...]


def identity(position: RiskPosition) -> Identity:
    """Everything a position's revaluation depends on besides the history and the shocks."""
    return (
        position.key,
        position.strategy,
        position.kind,
        position.quantity,
        position.price,
        position.rate,
        position.unit_value,
        position.exposure,
        position.du,
        position.dc,
        position.vna,
    )


class Revaluations:
    """Each position's scenario and stress P&L, kept for the next report on the same history
    and scenarios: a what-if's "after" book differs from its "before" by a few positions, and
    the next ticket's "before" from this one's by the positions traded since, so only those
    are revalued. `misses` counts the revaluations done (a kept one costs nothing)."""

    def __init__(self) -> None:
        self._scenarios: dict[Identity, np.ndarray] = {}
        self._stress: dict[Identity, dict[str, Decimal]] = {}
        self.misses = 0

    def scenario_pnl(
        self, position: RiskPosition, history: FactorHistory, key: Identity | None = None
    ) -> np.ndarray:
        key = key or identity(position)
        if key not in self._scenarios:
            self._scenarios[key] = scenario_pnl(position, history)
            self.misses += 1
        return self._scenarios[key]

    def stress_row(
        self,
        position: RiskPosition,
        scenarios: list[Any],
        asof: date,
        key: Identity | None = None,
    ) -> dict[str, Decimal]:
        """The position's P&L under each scenario, by scenario code."""
        row = self._stress.setdefault(key or identity(position), {})
        for scenario in scenarios:
            if scenario.code not in row:
                row[scenario.code] = stress_pnl(position, scenario.shocks, asof)
                self.misses += 1
        return row

    def keep_only(self, positions: list[RiskPosition]) -> Revaluations:
        """A copy holding only `positions`' revaluations (what is worth caching)."""
        wanted = {identity(p) for p in positions}
        kept = Revaluations()
        kept._scenarios = {k: v for k, v in self._scenarios.items() if k in wanted}
        kept._stress = {k: v for k, v in self._stress.items() if k in wanted}
        return kept


def analyse(
    positions: list[RiskPosition],
    history: FactorHistory,
    *,
    nav: Decimal,
    asof: date,
    ptax: Decimal | None,
    scenarios: list[Any],
    warnings: list[str] | None = None,
    memo: Revaluations | None = None,
) -> RiskReport:
    """Every metric of the risk monitor for one book (`memo` reuses earlier revaluations)."""
    memo = memo or Revaluations()
    navf = float(nav) or 1.0
    n = history.size
    total = np.zeros(n)
    by_strategy: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
    by_asset: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
    keys = [identity(p) for p in positions]
    for position, key in zip(positions, keys, strict=True):
        pnl = memo.scenario_pnl(position, history, key)
        total += pnl
        by_strategy[position.strategy] += pnl
        by_asset[position.asset_class] += pnl
    var99 = calc.historical_var(total, 0.99)
    exposures = _exposures(positions, navf)
    dv01_ladder = _dv01_ladder(positions)
    rows = [memo.stress_row(p, scenarios, asof, k) for p, k in zip(positions, keys, strict=True)]
    stress = [_stress_of(positions, rows, s, navf) for s in scenarios]
    return RiskReport(
        asof=asof.isoformat(),
        nav=float(nav),
        positions=len(positions),
        scenarios=n,
        gross=exposures["total"]["gross"],
        net=exposures["total"]["net"],
        gross_pct=exposures["total"]["gross"] / navf,
        net_pct=exposures["total"]["net"] / navf,
        fx_delta_usd=fx_delta(positions, ptax),
        var95=calc.historical_var(total, 0.95).var,
        var99=var99.var,
        es975=calc.expected_shortfall(total, 0.975),
        pvar95=calc.parametric_var(total, 0.95),
        pvar99=calc.parametric_var(total, 0.99),
        var99_date=history.dates[var99.scenario].isoformat() if var99.scenario >= 0 else None,
        dv01_total=float(sum((p.dv01 for p in positions), Decimal(0))),
        dv01_ladder=dv01_ladder,
        component_var99=calc.component_var(dict(by_strategy), var99.scenario),
        component_var99_asset=calc.component_var(dict(by_asset), var99.scenario),
        exposures=exposures,
        concentration=_concentration(positions, navf),
        stress=stress,
        warnings=[*history.warnings, *(warnings or [])],
        pnl_history=[round(float(x), 2) for x in total],
        history_gaps=[
            {"date": day.isoformat(), "instruments": names} for day, names in history.gaps
        ],
    )


def _exposures(positions: list[RiskPosition], nav: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"gross": 0.0, "net": 0.0})
    out["total"] = {"gross": 0.0, "net": 0.0}  # an empty book still has a (zero) total
    for p in positions:
        exposure = float(p.exposure)
        for key in ("total", f"strategy:{p.strategy}", f"asset:{p.asset_class}"):
            out[key]["gross"] += abs(exposure)
            out[key]["net"] += exposure
    for values in out.values():
        values["gross_pct"] = values["gross"] / nav
        values["net_pct"] = values["net"] / nav
    return dict(out)


def fx_delta(positions: list[RiskPosition], ptax: Decimal | None) -> float:
    """USD the book is long (+) or short: FX futures' notional and USD assets' value."""
    if not ptax:
        return 0.0
    usd = Decimal(0)
    for p in positions:
        if p.factor == "USDBRL" or (p.currency == "USD" and not p.kind.endswith("FUTURE")):
            usd += p.exposure / ptax
    return float(usd)


def _dv01_ladder(positions: list[RiskPosition]) -> dict[str, dict[str, float]]:
    ladder: dict[str, dict[str, float]] = {}
    for curve, vertices in (("di", DI_VERTICES), ("dap", DAP_VERTICES)):
        buckets = np.zeros(len(vertices))
        for p in positions:
            if CURVE_KINDS.get(p.kind) == curve and p.du > 0:
                buckets += float(p.dv01) * calc.bucket_weights(p.du, vertices)
        ladder[curve] = {
            str(int(v)): round(float(b), 2) for v, b in zip(vertices, buckets, strict=True)
        }
    return ladder


def _concentration(positions: list[RiskPosition], nav: float) -> list[dict[str, Any]]:
    largest = sorted(positions, key=lambda p: abs(p.exposure), reverse=True)[:5]
    return [
        {
            "ticker": p.ticker,
            "strategy": p.strategy,
            "exposure": float(p.exposure),
            "pct_nav": float(p.exposure) / nav,
        }
        for p in largest
    ]


def _vertex_shift(points: dict[str, float], du: int) -> Decimal:
    """A scenario's bp shift at `du`, linear between the vertices it gives, flat outside."""
    pairs = sorted((int(k), float(v)) for k, v in points.items())
    xs = [k for k, _ in pairs]
    ys = [v for _, v in pairs]
    bp = float(np.interp(du, xs, ys))
    return Decimal(str(round(bp, 6))) / Decimal(10000)


def stress_pnl(position: RiskPosition, shocks: dict[str, Any], asof: date) -> Decimal:
    """Full revaluation of one position under a stress scenario, in BRL (cents)."""
    q, unit = position.quantity, position.unit_value
    curve = CURVE_KINDS.get(position.kind)
    if (
        position.rate is not None
        and position.maturity
        and (curve or position.kind in FX_COUPON_KINDS)
    ):
        fx = ONE
        if curve:
            key = "di_bp" if curve == "di" else "dap_bp"
            shift = _vertex_shift(shocks[key], position.du) if key in shocks else Decimal(0)
        else:
            shift = Decimal(str(shocks.get("cupom_bp", 0))) / Decimal(10000)
            fx += Decimal(str(shocks.get("usdbrl_pct", 0))) / Decimal(100)
        if shift == 0 and fx == ONE:
            return Decimal("0.00")
        terms = RateTerms(position.kind, position.maturity, position.vna)
        # DDI/FRC in BRL: the shocked PU converted at the shocked USD/BRL (see scenario_pnl).
        shocked = pu_at(terms, position.rate + shift, asof) if shift else position.price
        moved = shocked * fx - position.price
        return (moved * q * unit).quantize(CENT, ROUND_HALF_UP)
    move = _linear_shock(position, shocks)
    return (position.exposure * move).quantize(CENT, ROUND_HALF_UP)


def _linear_shock(position: RiskPosition, shocks: dict[str, Any]) -> Decimal:
    def pct(key: str) -> Decimal:
        return Decimal(str(shocks.get(key, 0))) / Decimal(100)

    factor = position.factor or ""
    if factor == "USDBRL":
        return pct("usdbrl_pct")
    if factor == "IBOV":
        return (
            pct("ibov_pct")
            if position.kind in ("IND", "WIN")
            else ((1 + pct("ibov_pct")) * (1 + pct("equity_pct")) - 1)
        )
    if factor.startswith("OFF:"):
        rates_like = position.ticker[:2] in ("ZN", "ZB", "ZF", "ZT", "TY", "US")
        return pct("offshore_rates_pct" if rates_like else "offshore_equity_pct")
    if factor.startswith("EQ:"):
        local = pct("equity_pct")
        if position.currency == "USD":
            return (1 + pct("offshore_equity_pct") + local) * (1 + pct("usdbrl_pct")) - 1
        return local
    return Decimal(0)


def _stress(
    positions: list[RiskPosition],
    scenario: Any,
    asof: date,
    nav: float,
    memo: Revaluations | None = None,
) -> StressResult:
    memo = memo or Revaluations()
    rows = [memo.stress_row(p, [scenario], asof) for p in positions]
    return _stress_of(positions, rows, scenario, nav)


def _stress_of(
    positions: list[RiskPosition], rows: list[dict[str, Decimal]], scenario: Any, nav: float
) -> StressResult:
    """One scenario's result from each position's revaluation under it."""
    by_strategy: dict[str, Decimal] = defaultdict(Decimal)
    code = scenario.code
    for p, row in zip(positions, rows, strict=True):
        by_strategy[p.strategy] += row[code]
    total = float(sum(by_strategy.values(), Decimal(0)))
    source = ""
    if scenario.source_start:
        source = f"{scenario.source_start:%d/%m/%Y}"
        if scenario.source_end and scenario.source_end != scenario.source_start:
            source += f"–{scenario.source_end:%d/%m/%Y}"
    return StressResult(
        code=scenario.code,
        name=scenario.name,
        kind=scenario.kind,
        pnl=total,
        pct_nav=total / nav,
        by_strategy={k: float(v) for k, v in by_strategy.items()},
        source=source,
    )
