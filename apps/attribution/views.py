"""The attribution page: returns against the CDI, statistics, contributions, the monthly grid."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from apps.attribution import exports
from apps.attribution.forms import PeriodForm
from apps.attribution.queries import PERIODS, Attribution, cached_attribution, marked_range
from apps.core.page_cache import cached_page
from apps.core.permissions import role_required
from apps.core.roles import Role
from apps.marketdata.calendar import previous_business_day
from apps.positions import picker
from apps.positions.access import has_any_fund
from apps.positions.models import Portfolio
from apps.positions.remarks import marks_freshness
from apps.positions.scoped import scope_form

CHART_NAMES = 24  # longer strategy names are cut in the bar chart's axis
TAB_LABELS = {"mtd": "MTD", "qtd": "QTD", "ytd": "YTD", "12m": "12M", "itd": "Since inception"}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@role_required(*Role.values)
def page(request: HtmxHttpRequest) -> HttpResponse:
    """One fund over one period; htmx gets the body partial, `?format=csv&table=…` a table."""
    funds, code = picker.pick(request)
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Attribution")
    data = request.GET.copy()
    data["portfolio"] = code

    def form() -> PeriodForm:
        made = PeriodForm(data)
        scope_form(made, request.user)
        return made

    if request.GET.get("format") == "csv":
        chosen = form()
        result, errors, _ = _attribute(chosen)
        portfolio = chosen.chosen_portfolio or chosen.funds().first()
        return _csv(request.GET.get("table", ""), portfolio, result, errors)

    def build() -> tuple[dict[str, Any], str]:
        chosen = form()
        result, errors, status = _attribute(chosen)
        portfolio = chosen.chosen_portfolio or chosen.funds().first()
        return _context(chosen, portfolio, result, errors), status

    query = {k: data.get(k, "") for k in ("portfolio", "period", "start", "end")}
    key = query["period"].strip().lower() or ("custom" if query["start"] or query["end"] else "")
    return cached_page(
        request,
        name="attribution",
        code=query["portfolio"],
        funds=funds,
        params={**query, "min_returns": settings.STATS_MIN_RETURNS},
        build=build,
        template="attribution/page.html",
        title=lambda context: "Attribution",
        fragment="attribution/_body.html",
        bypass=key not in TAB_LABELS and key != "",  # custom ranges (and typos) are not cached
    )


def _attribute(form: PeriodForm) -> tuple[Attribution | None, list[str], str]:
    """The read model for a valid request (and its cache status), or the reasons there is none."""
    period = form.resolved()
    portfolio = form.cleaned_data.get("portfolio") if period else None
    if period is None or portfolio is None:
        return None, form.messages(), "bypass"
    try:
        cached = cached_attribution(portfolio, period)
    except ValidationError as error:  # e.g. a custom range with no marked day in it
        return None, error.messages, "bypass"
    return cached.value, [], cached.status


def _csv(
    table: str, portfolio: Portfolio | None, result: Attribution | None, errors: list[str]
) -> HttpResponse:
    if table not in exports.TABLES:
        errors = [f"Unknown table {table!r}; use one of {', '.join(exports.TABLES)}."]
    if errors or portfolio is None or (result is None and table != "monthly"):
        message = " ".join(errors) or "No active portfolio yet."
        return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")
    history = exports.monthly_history(portfolio) if table == "monthly" else None
    return exports.csv_response(table, portfolio=portfolio, result=result, history=history)


def _context(
    form: PeriodForm, portfolio: Portfolio | None, result: Attribution | None, errors: list[str]
) -> dict[str, Any]:
    first, last = marked_range(portfolio) if portfolio else (None, None)
    key = form.cleaned_data.get("period") if form.is_valid() else form.data.get("period")
    context: dict[str, Any] = {
        "portfolios": list(form.funds()),
        "portfolio": portfolio,
        "periods": [(k, label, PERIODS[k]) for k, label in TAB_LABELS.items()],
        "period_key": key,
        "start": form.data.get("start", ""),
        "end": form.data.get("end", ""),
        "first_marked": first,
        "last_marked": last,
        "errors": errors,
        "result": result,
        "months": exports.MONTHS,
    }
    if result is not None and portfolio is not None:
        context |= _figures(result)
        # Since inception, the period's own days are the whole history: no second read.
        itd = result.period.key == "itd"
        context["history"] = (
            exports.year_rows(result.monthly) if itd else exports.monthly_history(portfolio)
        )
        context["query"] = _query(portfolio, result)
        context["freshness"] = marks_freshness(portfolio.pk, result.period.end)
    return context


def _query(portfolio: Portfolio, result: Attribution) -> str:
    """The query string of what is shown (CSV links repeat it)."""
    params = {"portfolio": portfolio.code, "period": result.period.key}
    if result.period.key == "custom":
        params |= {"start": result.period.start.isoformat(), "end": result.period.end.isoformat()}
    return urlencode(params)


def _figures(result: Attribution) -> dict[str, Any]:
    """Tables (line items and their total), the IRR when it converged, and chart series."""
    tables: dict[str, dict[str, Any]] = {}
    for by in exports.GROUPINGS:
        items = exports.groups(result, by)
        rows = [(g, exports.split(g)) for g in items]
        tables[by] = {"rows": rows, "total": exports.total(items)}
    tables["strategy"]["rows"] = [
        (g, parts, [(c, exports.split(c)) for c in g.children])
        for g, parts in tables["strategy"]["rows"]
    ]
    return {
        "tables": tables,
        "bar_height": max(220, 34 * len(result.by_strategy) + 70),
        "irr": exports.finite(result.irr),
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
        "charts": _charts(result),
    }


def _charts(result: Attribution) -> dict[str, Any]:
    """Chart.js series in percent and basis points (floats only for drawing).

    The lines start at 0 on the business day before the period: the NAV the returns grow from."""
    strategies = result.by_strategy
    base = previous_business_day(result.days[0].date)

    def percent(series: list[float]) -> list[float]:
        return [0.0, *(round(x * 100, 4) for x in series)]

    return {
        "dates": [base.isoformat(), *(d.date.isoformat() for d in result.days)],
        "fund": percent(result.cumulative),
        "cdi": percent(result.cumulative_cdi),
        "drawdown": percent(result.drawdown),
        "strategies": {
            "names": [_short(g.name) for g in strategies],
            "bps": [round(g.contribution * 10000, 2) for g in strategies],
            "pnl": [float(g.pnl) for g in strategies],
        },
    }


def _short(name: str) -> str:
    return name if len(name) <= CHART_NAMES else name[: CHART_NAMES - 1] + "…"
