"""Firm risk: the funds' books revalued together on the same scenarios, never VaRs added.

`consolidated_risk(portfolios, day)` is the report of one book holding every position of the
funds: the union of their positions (each kept as its own position, so two funds holding the
same contract are two rows whose scenario P&L vectors add — netting them first gives the same
vector, since a revaluation is linear in the quantity), valued on the day's one factor history
and the active stress scenarios, with NAV = the sum of the funds' NAVs. VaR and ES are read
off the summed P&L vector, so diversification between funds is measured, not assumed.

A position's strategy is named `<fund code>/<strategy code>` in the consolidated report, so two
funds' strategies never merge by an accident of naming; the fund's component VaR (its P&L in
the firm's VaR scenario, negated) is the sum of its strategies' and the components add up to the
firm VaR. Each fund's standalone report is computed on the same inputs (the same revaluations:
every position is revalued once), so "sum of standalone VaRs − firm VaR" is the diversification
benefit.

The result is cached under the funds' and the market's data versions (and the stress scenarios'
last change), so the EOD's firm step warms what the firm page reads for the same funds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from apps.core.cache import MISSING, cache_get, cache_set
from apps.core.models import DataVersion
from apps.marketdata.models import FixingIndex
from apps.marketdata.queries import fixing_on
from apps.positions.models import NavRecord, Portfolio
from apps.risk.engine import Revaluations, RiskPosition, RiskReport, analyse
from apps.risk.factors import build_history
from apps.risk.models import StressScenario
from apps.risk.services import book_positions

FIRM_TTL = 3600  # a safety net: the versions in the key invalidate
SEPARATOR = "/"  # fund code / strategy code in the consolidated report


@dataclass(frozen=True)
class FundRisk:
    """One fund beside the firm: its standalone figures and its share of the firm's VaR."""

    portfolio_id: int
    code: str
    name: str
    nav: float
    var99: float  # standalone
    es975: float  # standalone
    dv01: float
    component_var99: float  # its contribution to the firm's (diversified) VaR 99
    gross: float  # BRL
    net: float
    # Exposure by asset class: {"RATES": {"gross": …, "net": …}, …} (BRL)
    assets: dict[str, dict[str, float]]


@dataclass(frozen=True)
class FirmRisk:
    day: date
    report: RiskReport  # the consolidated book
    funds: list[FundRisk]
    # Each fund's standalone DV01 by vertex ({"di": {"21": 1234.5, ...}, "dap": ...}).
    ladders: dict[str, dict[str, dict[str, float]]]

    @property
    def standalone_var99(self) -> float:
        return sum(f.var99 for f in self.funds)

    @property
    def standalone_es975(self) -> float:
        return sum(f.es975 for f in self.funds)

    @property
    def diversification(self) -> float:
        """What holding the funds together saves: sum of standalone VaRs − the firm VaR."""
        return self.standalone_var99 - self.report.var99


def consolidated_risk(portfolios: Iterable[Portfolio], day: date) -> RiskReport:
    """The risk report of one book holding every position of `portfolios` on `day`."""
    return firm_risk(portfolios, day).report


def firm_risk(portfolios: Iterable[Portfolio], day: date) -> FirmRisk:
    """The consolidated report and each fund's standalone figures, cache-first."""
    funds = sorted(portfolios, key=lambda p: p.pk)
    if not funds:
        raise ValidationError("No fund to consolidate.")
    if transaction.get_connection().in_atomic_block:  # uncommitted data is never shared
        return _compute(funds, day)
    key = _key(funds, day)
    found = cache_get(key)
    if found is not MISSING:
        return found  # type: ignore[no-any-return]
    result = _compute(funds, day)
    cache_set(key, result, FIRM_TTL)
    return result


def latest_common_day(portfolios: Iterable[Portfolio]) -> date | None:
    """The latest day every one of `portfolios` has a NAV on (the firm's as-of date)."""
    ids = [p.pk for p in portfolios]
    latest = (
        NavRecord.objects.filter(portfolio_id__in=ids)
        .values("portfolio_id")
        .annotate(d=Max("date"))
        .values_list("portfolio_id", "d")
    )
    found = dict(latest)
    if not ids or len(found) < len(set(ids)):
        return None
    return min(found.values())


def _key(funds: list[Portfolio], day: date) -> str:
    scopes = ["market", *(f"portfolio:{p.pk}" for p in funds)]
    found = dict(DataVersion.objects.filter(scope__in=scopes).values_list("scope", "version"))
    stamp = StressScenario.objects.filter(active=True).aggregate(s=Max("updated_at"))["s"]
    versions = ".".join(f"{p.pk}v{found.get(f'portfolio:{p.pk}', 0)}" for p in funds)
    if len(versions) > 120:
        versions = "sha1-" + hashlib.sha1(versions.encode()).hexdigest()
    stamp_text = stamp.isoformat() if stamp else "-"
    return f"rm:firm-risk:m{found.get('market', 0)}:{versions}:{day.isoformat()}:s{stamp_text}"


def _compute(funds: list[Portfolio], day: date) -> FirmRisk:
    navs = dict(
        NavRecord.objects.filter(portfolio__in=funds, date=day).values_list(
            "portfolio_id", "nav_close"
        )
    )
    missing = [p.code for p in funds if p.pk not in navs]
    if missing:
        raise ValidationError(
            f"No NAV on {day:%Y-%m-%d} for {', '.join(missing)}: run their MTM first."
        )
    history = build_history(day)
    ptax = fixing_on(FixingIndex.PTAX_SELL, day)
    scenarios = list(StressScenario.objects.filter(active=True))
    memo = Revaluations()  # shared: a position is revalued once, for its fund and the firm

    def report(positions: list[RiskPosition], nav: Decimal, warnings: list[str]) -> RiskReport:
        return analyse(
            positions,
            history,
            nav=nav,
            asof=day,
            ptax=ptax,
            scenarios=scenarios,
            warnings=warnings,
            memo=memo,
        )

    books: list[tuple[Portfolio, RiskReport]] = []
    union: list[RiskPosition] = []
    notes: list[str] = []
    for fund in funds:
        positions, warnings = book_positions(fund, day)
        named = [replace(p, strategy=f"{fund.code}{SEPARATOR}{p.strategy}") for p in positions]
        labelled = [f"{fund.code}: {w}" for w in warnings]
        books.append((fund, report(named, navs[fund.pk], labelled)))
        union += named
        notes += labelled
    firm = report(union, sum((navs[p.pk] for p in funds), Decimal(0)), notes)
    components = _fund_components(firm)
    return FirmRisk(
        day=day,
        report=firm,
        funds=[
            FundRisk(
                portfolio_id=fund.pk,
                code=fund.code,
                name=fund.name,
                nav=float(navs[fund.pk]),
                var99=alone.var99,
                es975=alone.es975,
                dv01=alone.dv01_total,
                component_var99=components.get(fund.code, 0.0),
                gross=alone.gross,
                net=alone.net,
                assets={
                    key.partition(":")[2]: {"gross": v["gross"], "net": v["net"]}
                    for key, v in alone.exposures.items()
                    if key.startswith("asset:")
                },
            )
            for fund, alone in books
        ],
        ladders={fund.code: alone.dv01_ladder for fund, alone in books},
    )


def _fund_components(report: RiskReport) -> dict[str, float]:
    """Each fund's component VaR 99: the sum of its strategies' (`<fund>/<strategy>`)."""
    out: dict[str, float] = {}
    for name, value in report.component_var99.items():
        code = name.partition(SEPARATOR)[0]
        out[code] = out.get(code, 0.0) + value
    return {code: float(np.round(value, 2)) for code, value in out.items()}
