"""The firm read model: every fund a user may see on one day, side by side and together.

Per fund: NAV, day/MTD/YTD P&L (the book's headline, cached per fund), gross and net exposure,
DV01, standalone VaR and ES and its component of the firm VaR. For the firm: sums where sums are
right (NAV, P&L, exposure, DV01 by vertex) and, for VaR and ES, the consolidated book revalued
on the same scenarios (`apps.risk.firm`), beside the sum of the standalone figures: the
difference is the diversification benefit. Everything is plain data (dicts, lists, floats), the
same for the page and for `GET /api/firm/`.

The day is the latest any of the funds is marked on (or the one asked for); a fund not marked
on it is listed as left out, with its latest marked day, rather than holding the firm back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max

from apps.marketdata.models import AssetClass
from apps.positions.models import NavRecord, Portfolio
from apps.positions.queries import Headline, cached_book
from apps.risk.factors import DAP_VERTICES, DI_VERTICES
from apps.risk.firm import FirmRisk, firm_risk
from apps.risk.queries import tenor

CURVES = (("di", "DI (nominal)", DI_VERTICES), ("dap", "DAP (real)", DAP_VERTICES))


def _ratio(amount: float, base: float) -> float | None:
    return amount / base if base else None


def build_firm(funds: Sequence[Portfolio], day: date | None = None) -> dict[str, Any]:
    """The firm view of `funds` on `day` (default: the latest day any of them is marked)."""
    latest = dict(
        NavRecord.objects.filter(portfolio__in=funds)
        .values("portfolio_id")
        .annotate(d=Max("date"))
        .values_list("portfolio_id", "d")
    )
    day = day or max(latest.values(), default=None)
    marked = (
        set(
            NavRecord.objects.filter(portfolio__in=funds, date=day).values_list(
                "portfolio_id", flat=True
            )
        )
        if day
        else set()
    )
    included = sorted((p for p in funds if p.pk in marked), key=lambda p: p.pk)
    left_out = [
        {"code": p.code, "name": p.name, "latest": latest.get(p.pk)}
        for p in funds
        if p.pk not in marked
    ]
    view: dict[str, Any] = {"as_of": day, "funds": [], "left_out": left_out, "risk": None}
    if day is None or not included:
        return view
    risk = firm_risk(included, day)
    headlines = {p.pk: cached_book(p, day).value.headline for p in included}
    view["funds"] = [_fund_row(p, headlines[p.pk], risk) for p in included]
    view["totals"] = _totals(view["funds"], headlines.values())
    view["risk"] = _risk(risk)
    view["exposures"] = _exposures(risk)
    view["dv01"] = _dv01(risk)
    view["warnings"] = risk.report.warnings
    return view


def _fund_row(portfolio: Portfolio, h: Headline, risk: FirmRisk) -> dict[str, Any]:
    fund = next(f for f in risk.funds if f.portfolio_id == portfolio.pk)
    return {
        "code": portfolio.code,
        "name": portfolio.name,
        "nav": float(h.nav),
        "day_pnl": float(h.day_pnl_brl),
        "day_pnl_of_nav": _float(h.day_pnl_of_nav),
        "mtd_pnl": float(h.mtd_pnl_brl),
        "mtd_pnl_of_nav": _float(h.mtd_pnl_of_nav),
        "ytd_pnl": float(h.ytd_pnl_brl),
        "ytd_pnl_of_nav": _float(h.ytd_pnl_of_nav),
        "gross": fund.gross,
        "net": fund.net,
        "gross_of_nav": _ratio(fund.gross, fund.nav),
        "net_of_nav": _ratio(fund.net, fund.nav),
        "dv01": fund.dv01,
        "var99": fund.var99,
        "var99_of_nav": _ratio(fund.var99, fund.nav),
        "es975": fund.es975,
        "component_var99": fund.component_var99,
        "share_of_firm_var": _ratio(fund.component_var99, risk.report.var99),
    }


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _totals(rows: list[dict[str, Any]], headlines: Any) -> dict[str, Any]:
    """Sums, and P&L over the sum of the period's opening NAVs (as each fund's own is)."""
    heads = list(headlines)
    nav = sum(r["nav"] for r in rows)
    bases = {
        "day": float(sum((h.bridge.nav_open for h in heads), Decimal(0))),
        "mtd": float(sum((h.month_start_nav for h in heads), Decimal(0))),
        "ytd": float(sum((h.year_start_nav for h in heads), Decimal(0))),
    }
    totals: dict[str, Any] = {"nav": nav}
    for period in ("day", "mtd", "ytd"):
        pnl = sum(r[f"{period}_pnl"] for r in rows)
        totals[f"{period}_pnl"] = pnl
        totals[f"{period}_pnl_of_nav"] = _ratio(pnl, bases[period])
    for key in ("gross", "net", "dv01"):
        totals[key] = sum(r[key] for r in rows)
    totals["gross_of_nav"] = _ratio(totals["gross"], nav)
    totals["net_of_nav"] = _ratio(totals["net"], nav)
    return totals


def _risk(risk: FirmRisk) -> dict[str, Any]:
    report = risk.report
    worst = report.worst_stress
    return {
        "nav": report.nav,
        "positions": report.positions,
        "scenarios": report.scenarios,
        "var99": report.var99,
        "var99_of_nav": report.pct(report.var99),
        "var99_date": report.var99_date,
        "var95": report.var95,
        "es975": report.es975,
        "es975_of_nav": report.pct(report.es975),
        "standalone_var99": risk.standalone_var99,
        "standalone_es975": risk.standalone_es975,
        "diversification": risk.diversification,
        "diversification_share": _ratio(risk.diversification, risk.standalone_var99),
        "es_diversification": risk.standalone_es975 - report.es975,
        "dv01": report.dv01_total,
        "gross": report.gross,
        "net": report.net,
        "worst_stress": (
            {"name": worst.name, "pnl": worst.pnl, "of_nav": worst.pct_nav} if worst else None
        ),
    }


def _exposures(risk: FirmRisk) -> list[dict[str, Any]]:
    """By asset class: each fund's net exposure and the firm's gross and net (BRL, % NAV)."""
    nav = risk.report.nav
    rows = []
    for value, label in AssetClass.choices:
        firm = risk.report.exposures.get(f"asset:{value}")
        if firm is None:
            continue
        rows.append(
            {
                "asset_class": value,
                "label": str(label),
                "by_fund": {f.code: f.assets.get(value, {}).get("net", 0.0) for f in risk.funds},
                "gross": firm["gross"],
                "net": firm["net"],
                "gross_of_nav": _ratio(firm["gross"], nav),
                "net_of_nav": _ratio(firm["net"], nav),
            }
        )
    return rows


def _dv01(risk: FirmRisk) -> dict[str, Any]:
    """DV01 by vertex: each fund's and the firm's, on the vertices where any is not zero."""
    rows = []
    for curve, label, vertices in CURVES:
        for vertex in vertices:
            du = str(int(vertex))
            by_fund = {f.code: risk.ladders[f.code][curve].get(du, 0.0) for f in risk.funds}
            total = risk.report.dv01_ladder[curve].get(du, 0.0)
            if total or any(by_fund.values()):
                rows.append(
                    {
                        "curve": curve,
                        "curve_label": label,
                        "du": int(vertex),
                        "tenor": tenor(int(vertex)),
                        "by_fund": by_fund,
                        "total": total,
                    }
                )
    return {"rows": rows, "funds": [f.code for f in risk.funds]}


def chart_data(view: dict[str, Any]) -> dict[str, Any]:
    """Chart.js series: the DV01 ladder and the net exposure by asset class, stacked by fund."""
    if not view.get("funds"):
        return {}
    funds = [(f["code"], f["name"]) for f in view["funds"]]
    rows, exposures = view["dv01"]["rows"], view["exposures"]
    return {
        "dv01": {
            "labels": [f"{r['curve'].upper()} {r['du']} du ({r['tenor']})" for r in rows],
            "funds": [
                {"label": name, "data": [round(r["by_fund"][code], 2) for r in rows]}
                for code, name in funds
            ],
        },
        "exposure": {
            "labels": [e["label"] for e in exposures],
            "funds": [
                {
                    "label": name,
                    "data": [
                        round(e["by_fund"][code] / view["totals"]["nav"] * 100, 2)
                        for e in exposures
                    ],
                }
                for code, name in funds
            ],
        },
    }
