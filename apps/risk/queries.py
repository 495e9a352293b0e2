"""The risk monitor read model: a fund's stored snapshot shaped for the page, and its alerts.

Everything is read from stored rows (`RiskSnapshot`, `Alert`, `Limit`): the engine never runs on
a read, so the page stays fast on a large book and shows what the EOD pipeline computed. The
result (dicts and lists around the snapshot and alert rows) is cached per portfolio and data
version.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Max, Q, When
from django.utils import timezone

from apps.core.cache import Cached, breaker, read, warmer
from apps.marketdata.models import AssetClass
from apps.positions.models import NavRecord, Portfolio, Strategy
from apps.risk.intraday import Shown, describe, latest_view
from apps.risk.models import Alert, Limit, Metric, RiskSnapshot, Scope
from apps.risk.services import latest_risk_date

FULL_HISTORY = 252
HISTORY_POINTS = 260
ACKNOWLEDGED_SHOWN_DAYS = 30
CHART_GROUPS = 12  # the exposure chart's largest strategies; the table lists them all


# --- the cached read: rm:risk:<portfolio>:m<market v>:p<portfolio v>:<date or latest> ---------


def is_history(portfolio_id: int, day: date | None) -> bool:
    """True when `day` asks for a snapshot older than the latest one."""
    if day is None:
        return False
    latest = RiskSnapshot.objects.filter(portfolio_id=portfolio_id).aggregate(d=Max("date"))["d"]
    return latest is not None and day < latest


def cached_monitor(portfolio: Portfolio, day: date | None) -> Cached:
    """`build_monitor` cache-first for the latest snapshot; history bypasses the cache."""
    return read(
        "risk",
        portfolio.pk,
        lambda: build_monitor(portfolio, day),
        params=day.isoformat() if day else "latest",
        bypass=connection.in_atomic_block or is_history(portfolio.pk, day),
    )


@warmer("risk")
def warm_monitor(portfolio: Portfolio) -> None:
    """The latest snapshot's monitor into the cache."""
    if not breaker.is_open:
        cached_monitor(portfolio, None)


def build_monitor(portfolio: Portfolio, day: date | None) -> dict[str, Any]:
    """What the monitor shows for `day` (None: the latest snapshot), from stored rows only."""
    if day is None:
        view = latest_view(portfolio)
        snapshot, live = view.snapshot, view.live
    else:
        snapshot = RiskSnapshot.objects.filter(portfolio=portfolio, date=day).first()
        live = False
    data = alerts_context(portfolio)
    data |= report_context(snapshot) if snapshot else missing_context(portfolio, day)
    data["freshness"] = describe(snapshot, latest=day is None, live=live)
    return data


def missing_context(portfolio: Portfolio, day: date | None) -> dict[str, Any]:
    """No snapshot: which date could be computed now, and the latest one that exists."""
    target = day or latest_risk_date(portfolio)
    latest = RiskSnapshot.objects.filter(portfolio=portfolio).order_by("-date").first()
    navs = NavRecord.objects.filter(portfolio=portfolio)
    return {
        "snapshot": None,
        "compute_date": target,
        "computable": target is not None and navs.filter(date=target).exists(),
        "latest_snapshot_date": latest.date if latest else None,
    }


def alerts_context(portfolio: Portfolio) -> dict[str, Any]:
    """Open alerts (all, hard first) then those acknowledged in the last 30 days."""
    since = timezone.now() - timedelta(days=ACKNOWLEDGED_SHOWN_DAYS)
    first = IntegerField()
    open_first = Case(When(status=Alert.Status.OPEN, then=0), default=1, output_field=first)
    hard_first = Case(When(level=Alert.Level.HARD, then=0), default=1, output_field=first)
    alerts = list(
        Alert.objects.filter(portfolio=portfolio)
        .filter(Q(status=Alert.Status.OPEN) | Q(acknowledged_at__gte=since))
        .select_related("limit", "acknowledged_by")
        # The rows are cached: never the acknowledging user's password hash.
        .defer("acknowledged_by__password")
        .order_by(open_first, "-date", hard_first, "pk")
    )
    return {
        "alerts": alerts,
        "open_alerts": sum(a.status == Alert.Status.OPEN for a in alerts),
    }


def tenor(du: int) -> str:
    """Business days as an approximate tenor: 63 → 3m, 252 → 1y, 1260 → 5y."""
    if du < 252:
        return f"{round(du / 21)}m"
    years = du / 252
    return f"{years:.0f}y" if years == round(years) else f"{years:.1f}y"


def report_context(snapshot: Shown) -> dict[str, Any]:
    """Everything the page draws, shaped from the stored report (plain dicts and lists)."""
    report = snapshot.report
    nav = report.get("nav") or 1.0
    names = dict(
        Strategy.objects.filter(portfolio_id=snapshot.portfolio_id).values_list("code", "name")
    )
    limits = limit_rows(report.get("limits", []), names)
    stress = stress_rows(report.get("stress", []), names, nav)
    return {
        "snapshot": snapshot,
        "report": report,
        "kpis": _kpis(report, nav, stress, limits),
        "limits": limits,
        "stress": stress,
        "components": component_rows(report.get("component_var99", {}), names, nav),
        "asset_components": component_rows(
            report.get("component_var99_asset", {}), dict(AssetClass.choices), nav
        ),
        "concentration": [
            {**row, "strategy_name": names.get(row["strategy"], row["strategy"])}
            for row in report.get("concentration", [])
        ],
        "exposures": exposure_rows(report.get("exposures", {}), names),
        "charts": _charts(snapshot, names),
    }


def _charts(snapshot: Shown, names: dict[str, str]) -> dict[str, Any]:
    exposures = exposure_chart(snapshot.report.get("exposures", {}), names)
    dv01 = dv01_chart(snapshot.report.get("dv01_ladder", {}))
    # The ladder sits beside the two exposure charts: as tall as they are, within reason.
    dv01["height"] = min(max(300, sum(exposures["height"].values()) + 40), 560)
    return {"dv01": dv01, "exposures": exposures, "history": history_chart(snapshot)}


def _kpis(
    report: dict[str, Any], nav: float, stress: list[dict[str, Any]], limits: list[dict[str, Any]]
) -> dict[str, Any]:
    def of_nav(key: str) -> dict[str, float]:
        value = float(report.get(key) or 0.0)
        return {"brl": value, "pct": value / nav}

    scenarios = int(report.get("scenarios") or 0)
    return {
        "nav": nav,
        "var95": of_nav("var95"),
        "var99": of_nav("var99"),
        "es975": of_nav("es975"),
        "pvar99": of_nav("pvar99"),
        "var99_date": _iso(report.get("var99_date")),
        "worst": next((s for s in stress if s["worst"]), None),
        "gross_pct": report.get("gross_pct", 0.0),
        "net_pct": report.get("net_pct", 0.0),
        "fx_delta_usd": report.get("fx_delta_usd", 0.0),
        "dv01_total": report.get("dv01_total", 0.0),
        "scenarios": scenarios,
        "short_history": scenarios < FULL_HISTORY,
        "top_limit": max(limits, key=lambda row: row["utilisation"]) if limits else None,
    }


def _iso(raw: Any) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def limit_rows(checks: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """The report's limit checks with scope, unit and the utilisation bar's geometry."""
    limits = Limit.objects.in_bulk([c["limit_id"] for c in checks])
    rows = []
    for check in checks:
        limit = limits.get(check["limit_id"])
        scope = "Portfolio"
        if limit is not None and limit.scope != Scope.PORTFOLIO:
            value = limit.scope_value
            label = names.get(value, value) if limit.scope == Scope.STRATEGY else value
            if limit.scope == Scope.ASSET_CLASS:
                label = dict(AssetClass.choices).get(value, value)
            scope = f"{limit.get_scope_display()} · {label}"
        hard = check["hard"] or 1.0
        rows.append(
            {
                **check,
                "metric_label": Metric(check["metric"]).label
                if check["metric"] in Metric.values
                else check["metric"],
                "scope": scope,
                "bar": min(check["utilisation"], 1.0) * 100,
                "warning_mark": min(check["warning"] / hard, 1.0) * 100,
            }
        )
    rows.sort(key=lambda row: row["utilisation"], reverse=True)
    return rows


def stress_rows(
    results: list[dict[str, Any]], names: dict[str, str], nav: float
) -> list[dict[str, Any]]:
    """Scenarios worst first, each with its per-strategy breakdown (worst first too)."""
    rows = sorted(results, key=lambda s: s["pnl"])
    worst_code = rows[0]["code"] if rows and rows[0]["pnl"] < 0 else None
    return [
        {
            **s,
            "worst": s["code"] == worst_code,
            "breakdown": [
                {"name": names.get(code, code), "pnl": pnl, "pct_nav": pnl / nav}
                for code, pnl in sorted(s.get("by_strategy", {}).items(), key=lambda kv: kv[1])
            ],
        }
        for s in rows
    ]


def component_rows(
    components: dict[str, float], names: dict[str, str], nav: float
) -> dict[str, Any]:
    """Component VaR 99 by group, largest first; the rows add up to the total VaR."""
    total = sum(components.values())
    rows = [
        {
            "name": names.get(key, key),
            "brl": value,
            "pct_nav": value / nav,
            "share": value / total if total else 0.0,
        }
        for key, value in sorted(components.items(), key=lambda kv: kv[1], reverse=True)
    ]
    return {"rows": rows, "total": total, "total_pct": total / nav}


def _exposure_groups(
    exposures: dict[str, dict[str, float]], kind: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    rows = [
        {"name": names.get(key.partition(":")[2], key.partition(":")[2]), **values}
        for key, values in exposures.items()
        if key.startswith(f"{kind}:")
    ]
    return sorted(rows, key=lambda row: row["gross"], reverse=True)


def exposure_rows(
    exposures: dict[str, dict[str, float]], names: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    return {
        "strategy": _exposure_groups(exposures, "strategy", names),
        "asset": _exposure_groups(exposures, "asset", dict(AssetClass.choices)),
    }


def exposure_chart(exposures: dict[str, dict[str, float]], names: dict[str, str]) -> dict[str, Any]:
    """Chart.js series: gross and net exposure in % of NAV, by strategy and by asset class."""
    groups = {k: rows[:CHART_GROUPS] for k, rows in exposure_rows(exposures, names).items()}
    chart: dict[str, Any] = {
        kind: {
            "labels": [row["name"] for row in rows],
            "gross": [round(row["gross_pct"] * 100, 2) for row in rows],
            "net": [round(row["net_pct"] * 100, 2) for row in rows],
        }
        for kind, rows in groups.items()
    }
    # Pixel height per chart: room for the title, legend and axis plus a band per bar pair.
    chart["height"] = {kind: 90 + 26 * max(len(rows), 2) for kind, rows in groups.items()}
    return chart


def dv01_chart(ladder: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Chart.js series: DV01 (R$ per bp) by vertex for DI and DAP, on the union of vertices."""
    vertices = sorted({int(du) for curve in ladder.values() for du in curve})
    return {
        "labels": [f"{du} du ({tenor(du)})" for du in vertices],
        "di": [ladder.get("di", {}).get(str(du)) for du in vertices],
        "dap": [ladder.get("dap", {}).get(str(du)) for du in vertices],
    }


def history_chart(snapshot: Shown) -> dict[str, Any]:
    """VaR 99 and ES 97.5 in % of NAV over the stored snapshots up to this one."""
    rows = list(
        RiskSnapshot.objects.filter(portfolio_id=snapshot.portfolio_id, date__lte=snapshot.date)
        .order_by("-date")
        .values_list("date", "report__nav", "report__var99", "report__es975")[:HISTORY_POINTS]
    )[::-1]
    labels, var99, es975 = [], [], []
    for day, nav, var, es in rows:
        if not nav:
            continue
        labels.append(day.isoformat())
        var99.append(round(float(var or 0) / float(nav) * 100, 4))
        es975.append(round(float(es or 0) / float(nav) * 100, 4))
    return {"labels": labels, "var99": var99, "es975": es975}
