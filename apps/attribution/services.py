"""Storing the EOD performance snapshot."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from apps.attribution.models import PerformanceSnapshot
from apps.attribution.queries import PERIODS, Attribution, build_attribution, resolve_period
from apps.core.staleness import basis_now
from apps.positions.models import Portfolio


def summarise(result: Attribution) -> dict[str, Any]:
    """The JSON-able headline of one period (returns, statistics, contributions)."""
    stats = result.stats
    return {
        "label": result.period.label,
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
        "days": len(result.days),
        "twr": result.twr,
        "cdi": result.cdi,
        "pct_cdi": result.pct_cdi,
        "na_reason": result.na_reason,
        "excess": result.excess,
        "dietz": result.dietz,
        "irr": result.irr,
        "annualised": result.annualised,
        "pnl": str(result.total_pnl),
        "volatility": stats.volatility,
        "sharpe": stats.sharpe,
        "sortino": stats.sortino,
        "max_drawdown": stats.max_drawdown,
        "hit_rate": stats.hit_rate,
        "by_strategy": [
            {"name": g.name, "pnl": str(g.pnl), "bps": g.contribution * 10000}
            for g in result.by_strategy
        ],
        "by_asset_class": [
            {"name": g.name, "pnl": str(g.pnl), "bps": g.contribution * 10000}
            for g in result.by_asset_class
        ],
        "top_instruments": [
            {"name": g.name, "pnl": str(g.pnl), "bps": g.contribution * 10000}
            for g in sorted(result.by_instrument, key=lambda g: g.pnl)
        ],
    }


@transaction.atomic
def run_attribution(portfolio: Portfolio, day: date) -> PerformanceSnapshot:
    """Compute the standard periods as of `day` and store them (idempotent)."""
    basis = basis_now(portfolio.pk)  # before the inputs: a write after shows as newer
    periods = {
        key: summarise(build_attribution(portfolio, resolve_period(portfolio, key, asof=day)))
        for key in PERIODS
        if key != "custom"
    }
    snapshot, _ = PerformanceSnapshot.objects.update_or_create(
        portfolio=portfolio, date=day, defaults={"periods": periods, "basis": basis.as_dict()}
    )
    return snapshot
