"""DDI/FRC carry USD/BRL: their BRL value is PU · USD 0.50 · PTAX, so a USD/BRL move is P&L.

The MTM pays the ajuste at PTAX; `fx_delta` counts the USD. VaR, ES, component VaR,
parametric VaR and every stress that shocks USD/BRL must see the same leg.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest

from apps.marketdata.valuation import RateTerms, pu_at
from apps.risk.engine import RiskPosition, analyse, scenario_pnl, stress_pnl
from apps.risk.factors import DAP_VERTICES, DI_VERTICES, FactorHistory

D = Decimal
ASOF = date(2025, 2, 14)
MATURITY = date(2026, 1, 2)
PTAX = D("5.8000")


def _ddi(kind: str = "DDI", quantity: str = "100", strategy: str = "fx") -> RiskPosition:
    pu = pu_at(RateTerms(kind, MATURITY), D("0.05"), ASOF)
    unit = D("0.5") * PTAX
    q = D(quantity)
    return RiskPosition(
        key=f"{kind}-{strategy}",
        strategy=strategy,
        asset_class="FX",
        ticker=f"{kind}F26",
        kind=kind,
        currency="USD",
        quantity=q,
        price=pu,
        rate=D("0.05"),
        maturity=MATURITY,
        du=0,
        dc=(MATURITY - ASOF).days,
        unit_value=unit,
        exposure=(pu * q * unit).quantize(D("0.01")),
        dv01=D(0),
        factor=None,
    )


def _history(fx: list[float], cupom: list[float] | None = None) -> FactorHistory:
    n = len(fx)
    return FactorHistory(
        [ASOF - timedelta(days=n - i) for i in range(n)],
        np.zeros((n, len(DI_VERTICES))),
        np.zeros((n, len(DAP_VERTICES))),
        {"USDBRL": np.array(fx), "CUPOM": np.array(cupom or [0.0] * n)},
    )


@pytest.mark.parametrize("kind", ["DDI", "FRC"])
def test_a_usdbrl_move_is_ddi_pnl_in_historical_scenarios(kind: str) -> None:
    position = _ddi(kind)
    pnl = scenario_pnl(position, _history([0.02, -0.01, 0.0]))
    exposure = float(position.exposure)
    # Within a real of the exposure times the move (the float PU is not rounded to the cent).
    assert pnl == pytest.approx([exposure * 0.02, -exposure * 0.01, 0.0], abs=1.0)


def test_cupom_and_fx_legs_compound() -> None:
    position = _ddi()
    pnl = scenario_pnl(position, _history([0.02], [0.001]))
    dc = position.dc
    shifted = 100_000 / (1 + 0.051 * dc / 360)
    expected = (shifted * 1.02 - float(position.price)) * 100 * float(position.unit_value)
    assert pnl[0] == pytest.approx(expected, abs=5.0)


def test_var_es_and_component_var_include_the_fx_leg() -> None:
    long_ddi = _ddi(strategy="cupom")
    fx = [0.001 * (i % 7 - 3) for i in range(100)]
    fx[40] = -0.05  # the worst day: USD/BRL −5 %
    report = analyse(
        [long_ddi], _history(fx), nav=D(10_000_000), asof=ASOF, ptax=PTAX, scenarios=[]
    )
    loss = float(long_ddi.exposure) * 0.05
    assert report.var99 >= report.var95 > 0 and report.es975 > 0 and report.pvar99 > 0
    assert report.es975 == pytest.approx((loss + 2 * float(long_ddi.exposure) * 0.003) / 3)
    assert report.component_var99 == {"cupom": pytest.approx(report.var99)}
    assert report.fx_delta_usd == pytest.approx(float(long_ddi.exposure / PTAX))


@pytest.mark.parametrize("kind", ["DDI", "FRC"])
def test_a_usdbrl_stress_revalues_the_ddi_in_brl(kind: str) -> None:
    position = _ddi(kind)
    pnl = stress_pnl(position, {"usdbrl_pct": 10}, ASOF)
    assert pnl == (position.price * D("0.10") * position.quantity * position.unit_value).quantize(
        D("0.01")
    )


def test_a_combined_stress_moves_cupom_and_fx_together() -> None:
    position = _ddi()
    terms = RateTerms("DDI", MATURITY)
    pnl = stress_pnl(position, {"usdbrl_pct": 10, "cupom_bp": 100}, ASOF)
    moved = pu_at(terms, D("0.06"), ASOF) * D("1.10") - position.price
    assert pnl == (moved * position.quantity * position.unit_value).quantize(D("0.01"))


def test_the_stress_by_strategy_sums_the_fx_leg() -> None:
    from apps.risk.engine import _stress

    scenario = SimpleNamespace(
        code="usd-up-10",
        name="USD/BRL +10 %",
        kind="PRIMITIVE",
        shocks={"usdbrl_pct": 10},
        source_start=None,
        source_end=None,
    )
    position = _ddi()
    result = _stress([position], scenario, ASOF, 10_000_000.0)
    assert result.pnl == pytest.approx(float(position.exposure) * 0.10, abs=0.01)
