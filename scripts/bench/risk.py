"""Risk benchmarks: historical full revaluation of 1,000 positions × 252 scenarios, and the risk
page rendered from a stored snapshot of a 500-position book.

The engine benchmark needs no database: positions are `RiskPosition`s with real maturities and
bond flows, and the factor history is 252 random daily moves. The page benchmark stores a year
of snapshots (each the engine's real report of the same book, with its stress scenarios and
~100 limits) and times the view through `django.test.Client`, logged in, server side only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from scripts.bench import BenchOp, Scale, report

SEED = 42
ENGINE_POSITIONS = 1_000
PAGE_POSITIONS = 500
SCENARIOS = 252
STRATEGIES = 30
ASOF = date(2025, 6, 30)
NAV = Decimal("500000000.00")
PTAX = Decimal("5.4571")
VNA = Decimal("4512.123456")
QUERY_TARGET = 10
D = Decimal


# --- a synthetic macro book -------------------------------------------------------------------


def _maturities() -> dict[str, list[date]]:
    from apps.marketdata.contracts import fifteenth_or_next, first_business_day

    years = range(ASOF.year + 1, ASOF.year + 11)
    return {
        "DI1": [first_business_day(y, m) for y in years for m in (1, 4, 7, 10)],
        "DAP": [fifteenth_or_next(y, m) for y in years for m in (5, 8)],
        "LTN": [date(y, m, 1) for y in list(years)[:5] for m in (1, 7)],
        "NTNF": [date(y, 1, 1) for y in years],
        "NTNB": [date(y, 5, 15) for y in years] + [date(y, 8, 15) for y in years],
    }


def _curve_position(i: int, kind: str, maturity: date, strategy: str, rng: random.Random) -> Any:
    from apps.marketdata.calendar import business_days
    from apps.marketdata.valuation import RateTerms, dv01_at, pu_at
    from apps.risk.engine import RiskPosition
    from apps.risk.services import _bond_flows

    du = business_days(ASOF, maturity)
    real = kind in ("DAP", "NTNB")
    rate = D(rng.randrange(5500, 7500) if real else rng.randrange(13000, 15500)).scaleb(-5)
    vna = VNA if kind == "NTNB" else None
    terms = RateTerms(kind, maturity, vna)
    pu = pu_at(terms, rate, ASOF)
    unit = D("0.00025") * D("7150") if kind == "DAP" else D(1)
    sign = rng.choice((1, -1)) if kind in ("DI1", "DAP") else 1
    qty = D(sign * rng.randrange(5, 250 if kind in ("DI1", "DAP") else 2500))
    return RiskPosition(
        key=str(i),
        strategy=strategy,
        asset_class="INFLATION" if real else "RATES",
        ticker=f"{kind}{maturity:%Y%m%d}",
        kind=kind,
        currency="BRL",
        quantity=qty,
        price=pu,
        rate=rate,
        maturity=maturity,
        du=du,
        dc=(maturity - ASOF).days,
        unit_value=unit,
        exposure=(pu * qty * unit).quantize(D("0.01")),
        dv01=(dv01_at(terms, rate, ASOF) * qty * unit).quantize(D("0.01")),
        factor=None,
        vna=vna,
        flows=_bond_flows(kind, maturity, ASOF, vna) if kind in ("LTN", "NTNF", "NTNB") else [],
    )


def _linear_position(i: int, kind: str, strategy: str, rng: random.Random) -> Any:
    from apps.risk.engine import RiskPosition

    spec = {
        "DOL": ("FX", "BRL", "USDBRL", D("5457.0"), D(50)),
        "IND": ("EQUITY", "BRL", "IBOV", D("136500"), D(1)),
        "OFFSHORE_FUTURE": ("OFFSHORE", "USD", "OFF:ES", D("6200.0"), D(50) * PTAX),
    }
    asset_class, currency, factor, price, unit = spec[kind]
    qty = D(rng.choice((1, -1)) * rng.randrange(1, 40))
    return RiskPosition(
        key=str(i),
        strategy=strategy,
        asset_class=asset_class,
        ticker={"DOL": "DOLQ25", "IND": "INDQ25", "OFFSHORE_FUTURE": "ESU25"}[kind],
        kind=kind,
        currency=currency,
        quantity=qty,
        price=price,
        rate=None,
        maturity=ASOF + timedelta(days=45),
        du=31,
        unit_value=unit,
        exposure=(price * qty * unit).quantize(D("0.01")),
        dv01=D(0),
        factor=factor,
    )


# A macro fund's mix: mostly DI1 along the curve, then bonds, DAP, FX, equity and offshore.
MIX = [("DI1", 40), ("DAP", 10), ("LTN", 10), ("NTNF", 8), ("NTNB", 12)]
MIX += [("DOL", 8), ("IND", 7), ("OFFSHORE_FUTURE", 5)]


def book(count: int) -> list[Any]:
    """`count` engine positions in the proportions of MIX, over STRATEGIES strategies."""
    rng = random.Random(SEED)
    maturities = _maturities()
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    positions = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        strategy = f"s{rng.randrange(STRATEGIES):02d}"
        if kind in maturities:
            maturity = rng.choice(maturities[kind])
            positions.append(_curve_position(i, kind, maturity, strategy, rng))
        else:
            positions.append(_linear_position(i, kind, strategy, rng))
    return positions


def history(size: int = SCENARIOS) -> Any:
    """`size` random daily factor moves (rates in decimal, prices as returns)."""
    import numpy as np

    from apps.marketdata.calendar import add_business_days
    from apps.risk.factors import DAP_VERTICES, DI_VERTICES, FactorHistory

    rng = np.random.default_rng(SEED)
    dates = [add_business_days(ASOF, -k) for k in range(size, 0, -1)]
    return FactorHistory(
        dates,
        rng.normal(0, 0.0009, (size, len(DI_VERTICES))),
        rng.normal(0, 0.0007, (size, len(DAP_VERTICES))),
        {
            "USDBRL": rng.normal(0, 0.009, size),
            "IBOV": rng.normal(0, 0.012, size),
            "CUPOM": rng.normal(0, 0.0006, size),
            "OFF:ES": rng.normal(0, 0.011, size),
        },
    )


# --- (a) the engine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineState:
    positions: list[Any]
    history: Any


def _setup_engine(scale: Scale) -> EngineState:
    return EngineState(book(scale.size(ENGINE_POSITIONS)), history())


def _run_engine(state: EngineState) -> None:
    from apps.risk.engine import analyse

    analysis = analyse(state.positions, state.history, nav=NAV, asof=ASOF, ptax=PTAX, scenarios=[])
    assert analysis.scenarios == SCENARIOS and analysis.var99 > 0
    report("engine", f"[VaR 99 {analysis.var99 / float(NAV):.2%} of NAV]")


# --- (b) the page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageState:
    client: Any
    url: str
    label: str


def _portfolio(code: str) -> tuple[Any, bool]:
    from apps.positions.models import Portfolio, Strategy

    portfolio, created = Portfolio.objects.get_or_create(
        code=code,
        defaults={"name": f"Bench {code}", "inception_date": ASOF, "initial_nav": NAV},
    )
    Strategy.objects.bulk_create(
        [
            Strategy(portfolio=portfolio, code=f"s{i:02d}", name=f"Strategy {i:02d}")
            for i in range(STRATEGIES)
        ],
        ignore_conflicts=True,
    )
    return portfolio, created


def _limits(portfolio: Any) -> None:
    """The defaults plus gross, net and VaR per strategy and gross per asset class (~100)."""
    from apps.risk.models import Limit, Metric, Scope
    from apps.risk.services import ensure_default_limits

    ensure_default_limits(portfolio)
    rows = [
        Limit(
            portfolio=portfolio,
            metric=metric,
            scope=Scope.STRATEGY,
            scope_value=f"s{i:02d}",
            warning_level=warning,
            hard_level=hard,
        )
        for i in range(STRATEGIES)
        for metric, warning, hard in (
            (Metric.GROSS, D("0.9"), D("1.2")),
            (Metric.NET, D("0.4"), D("0.6")),
            (Metric.VAR_99, D("0.002"), D("0.004")),
        )
    ]
    rows += [
        Limit(
            portfolio=portfolio,
            metric=Metric.GROSS,
            scope=Scope.ASSET_CLASS,
            scope_value=asset,
            warning_level=D("3"),
            hard_level=D("4"),
        )
        for asset in ("RATES", "INFLATION", "FX", "EQUITY", "OFFSHORE")
    ]
    Limit.objects.bulk_create(rows, ignore_conflicts=True)


def _snapshots(portfolio: Any, payload: dict[str, Any]) -> None:
    """A year of snapshots (the same book, VaR drifting) and the last day's open alerts."""
    from apps.marketdata.calendar import add_business_days
    from apps.risk.models import Alert, Limit, RiskSnapshot

    rng = random.Random(SEED)
    rows = []
    for k in range(SCENARIOS - 1, -1, -1):
        scale = 1 + rng.gauss(0, 0.08) if k else 1.0  # the shown day adds up exactly
        scaled = {**payload, "var99": payload["var99"] * scale, "es975": payload["es975"] * scale}
        rows.append(
            RiskSnapshot(portfolio=portfolio, date=add_business_days(ASOF, -k), report=scaled)
        )
    RiskSnapshot.objects.bulk_create(rows, batch_size=50)
    limits = {limit.pk: limit for limit in Limit.objects.filter(portfolio=portfolio)}
    alerts = [
        Alert(
            portfolio=portfolio,
            limit=limits[check["limit_id"]],
            date=ASOF,
            level=Alert.Level.HARD if check["level"] == "hard" else Alert.Level.WARNING,
            value=D(str(round(check["value"], 4))),
            utilisation=D(str(round(check["utilisation"], 4))),
        )
        for check in payload["limits"]
        if check["level"] != "ok"
    ]
    Alert.objects.bulk_create(alerts, ignore_conflicts=True)
    from apps.core.cache import bump

    bump(portfolio.pk)  # bulk writes fire no signals: as the product's bulk writers do


def _stress_library() -> None:
    """The migration's scenarios (on PostgreSQL the harness flushes them with the data)."""
    import importlib

    from django.apps import apps

    from apps.risk.models import StressScenario

    if not StressScenario.objects.exists():
        importlib.import_module("apps.risk.migrations.0002_stress_library").load(apps, None)


def _setup_page(scale: Scale) -> PageState:
    from django.contrib.auth.models import User
    from django.test import Client

    from apps.risk.engine import analyse
    from apps.risk.models import RiskSnapshot, StressScenario
    from apps.risk.services import check_limits

    count = scale.size(PAGE_POSITIONS)
    _stress_library()
    portfolio, created = _portfolio(f"bench-risk-{scale.name}")
    if created or not RiskSnapshot.objects.filter(portfolio=portfolio).exists():
        _limits(portfolio)
        analysis = analyse(
            book(count),
            history(),
            nav=NAV,
            asof=ASOF,
            ptax=PTAX,
            scenarios=list(StressScenario.objects.filter(active=True)),
        )
        checked = check_limits(portfolio, analysis)
        _snapshots(portfolio, {**analysis.as_dict(), "limits": checked})
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    limits = len(RiskSnapshot.objects.get(portfolio=portfolio, date=ASOF).report["limits"])
    label = f"{count} positions, {limits} limits"
    return PageState(client, f"/risk/?portfolio={portfolio.code}", label)


def _run_page(state: PageState) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = state.client.get(state.url)
    assert response.status_code == 200, response.status_code
    assert b'data-testid="stress-row"' in response.content
    count = len(queries.captured_queries)
    flag = "" if count <= QUERY_TARGET else f" > {QUERY_TARGET}: TARGET MISSED"
    size = len(response.content) // 1024
    report(state.label, f"[{state.label}, {size} kB of HTML, {count} SQL queries{flag}]")


OPERATIONS = [
    BenchOp(
        f"risk engine, {ENGINE_POSITIONS:,} positions × {SCENARIOS} scenarios (historical)",
        target_ms=500,
        setup=_setup_engine,
        run=_run_engine,
        repeats=5,
    ),
    BenchOp(
        f"risk page from the stored snapshot, {PAGE_POSITIONS} positions",
        target_ms=300,
        setup=_setup_page,
        run=_run_page,
        repeats=5,
    ),
]
