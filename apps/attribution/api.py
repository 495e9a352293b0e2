"""Returns, contributions, the monthly grid and stored snapshots over HTTP (read-only).

Every role reads. Query parameters are validated by the page's own form (`PeriodForm`), so a
bad request gets the same sentence as on the page, with a 400. Returns are fractions
(0.0123 = 1.23 %) rounded to 8 places, contributions in basis points to 2, ratios to 4;
BRL amounts are strings to the cent.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.forms import Form
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.attribution import exports
from apps.attribution.forms import PeriodForm, SnapshotForm
from apps.attribution.models import PerformanceSnapshot
from apps.attribution.queries import PERIODS, Attribution, Group, Period, build_attribution
from apps.core.permissions import RolePermission
from apps.core.serializers import Freshness
from apps.core.staleness import Basis, staleness
from apps.positions.access import active_fund_or_404
from apps.positions.models import Portfolio
from apps.positions.scoped import scope_form

RETURN_PLACES, BP_PLACES, RATIO_PLACES = 8, 2, 4


def _fraction(value: float | None, places: int = RETURN_PLACES) -> float | None:
    """Rounded; None for a missing or non-finite value (an IRR that did not converge)."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, places) + 0.0  # + 0.0 turns -0.0 into 0.0


def _bps(value: float) -> float | None:
    return _fraction(value * 10000, BP_PLACES)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def fraction(**kwargs: Any) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, **kwargs)


# --- serializers (the response shapes; the data are plain dicts built below) ---------------


class PeriodSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=list(PERIODS))
    name = serializers.CharField(help_text="Year to date, 03/02/2025 – 14/02/2025 …")
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField(help_text="Marked business days in the period.")


class DayReturnSerializer(serializers.Serializer):
    date = serializers.DateField()
    nav_open = money()
    flows = money()
    nav_close = money()
    ret = fraction(help_text="The day's return, flows at the end of the day.")
    cdi = fraction(help_text="The CDI accrued that day.")
    cumulative = fraction()
    cumulative_cdi = fraction()
    drawdown = fraction()


class DayValueSerializer(serializers.Serializer):
    date = serializers.DateField()
    ret = fraction()


class StatisticsSerializer(serializers.Serializer):
    volatility = fraction(help_text="Annualised (252 days).")
    sharpe = fraction(help_text="On daily excess returns over CDI, annualised.")
    sortino = fraction()
    max_drawdown = fraction()
    drawdown_days = serializers.IntegerField(help_text="Peak to recovery (or to the end).")
    drawdown_start = serializers.DateField(allow_null=True, help_text="The peak.")
    drawdown_end = serializers.DateField(allow_null=True, help_text="The trough.")
    hit_rate = fraction(help_text="Share of days with a gain.")
    best_day = DayValueSerializer(allow_null=True)
    worst_day = DayValueSerializer(allow_null=True)


class ReturnsSerializer(serializers.Serializer):
    portfolio = serializers.CharField()
    period = PeriodSerializer()
    twr = fraction(help_text="Time-weighted return of the period.")
    cdi = fraction()
    pct_cdi = fraction(
        help_text="TWR / CDI (1.25 = 125 % of CDI); null when the CDI is 0 or over too few "
        "returns (`na_reason`)."
    )
    excess = fraction(help_text="TWR − CDI.")
    excess_bps = fraction()
    dietz = fraction(help_text="Modified Dietz.")
    irr = fraction(help_text="Money-weighted, for the period; null when it does not converge.")
    annualised = fraction(help_text="Null (n/a) over too few returns: see `na_reason`.")
    na_reason = serializers.CharField(
        allow_null=True,
        help_text="Why annualised, pct_cdi, volatility, Sharpe and Sortino are null: fewer "
        "daily returns than STATS_MIN_RETURNS (21). Null when they are shown.",
    )
    total_pnl = money(help_text="BRL: positions, fees and CDI on cash.")
    stats = StatisticsSerializer()
    daily = DayReturnSerializer(many=True)


class SourcesSerializer(serializers.Serializer):
    price = money()
    carry = money()
    fx = money()
    fees = money()
    cash = money(help_text="CDI on the fund's cash.")


class LineSerializer(serializers.Serializer):
    name = serializers.CharField()
    pnl = money()
    contribution_bps = fraction(help_text="Cariño-linked: the lines add up to the TWR.")
    sources = SourcesSerializer()


class GroupLineSerializer(LineSerializer):
    children = LineSerializer(many=True, help_text="Instruments, for `by=strategy`.")


class ContributionsSerializer(serializers.Serializer):
    portfolio = serializers.CharField()
    period = PeriodSerializer()
    by = serializers.ChoiceField(choices=list(exports.GROUPINGS))
    lines = GroupLineSerializer(many=True)
    total = LineSerializer()


class CellSerializer(serializers.Serializer):
    month = serializers.IntegerField(help_text="1–12; 13 is the year.")
    fund = fraction()
    cdi = fraction()
    pct_cdi = fraction()


class YearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    months = CellSerializer(many=True)
    total = CellSerializer()


class MonthlySerializer(serializers.Serializer):
    portfolio = serializers.CharField()
    years = YearSerializer(many=True)


class AttributionSnapshotSerializer(Freshness):
    portfolio = serializers.CharField()
    date = serializers.DateField()
    computed_at = serializers.DateTimeField()
    periods = serializers.JSONField(help_text="Per period key: returns, statistics, contributions.")


# --- shaping ------------------------------------------------------------------------------


def _period(result: Attribution) -> dict[str, Any]:
    p = result.period
    return {
        "key": p.key,
        "name": p.label,
        "start": p.start,
        "end": p.end,
        "days": len(result.days),
    }


def returns_data(result: Attribution) -> dict[str, Any]:
    s = result.stats
    return {
        "portfolio": result.portfolio.code,
        "period": _period(result),
        "twr": _fraction(result.twr),
        "cdi": _fraction(result.cdi),
        "pct_cdi": _fraction(result.pct_cdi, RATIO_PLACES),
        "excess": _fraction(result.excess),
        "excess_bps": _bps(result.excess),
        "dietz": _fraction(result.dietz),
        "irr": _fraction(result.irr),
        "annualised": _fraction(result.annualised),
        "na_reason": result.na_reason,
        "total_pnl": result.total_pnl,
        "stats": {
            "volatility": _fraction(s.volatility),
            "sharpe": _fraction(s.sharpe, RATIO_PLACES),
            "sortino": _fraction(s.sortino, RATIO_PLACES),
            "max_drawdown": _fraction(s.max_drawdown),
            "drawdown_days": s.drawdown_days,
            "drawdown_start": s.drawdown_start,
            "drawdown_end": s.drawdown_end,
            "hit_rate": _fraction(s.hit_rate, RATIO_PLACES),
            "best_day": {"date": s.best_day[0], "ret": _fraction(s.best_day[1])}
            if s.best_day
            else None,
            "worst_day": {"date": s.worst_day[0], "ret": _fraction(s.worst_day[1])}
            if s.worst_day
            else None,
        },
        "daily": [
            {
                "date": d.date,
                "nav_open": d.nav_open,
                "flows": d.flows,
                "nav_close": d.nav_close,
                "ret": _fraction(d.ret),
                "cdi": _fraction(float(d.cdi_factor) - 1),
                "cumulative": _fraction(result.cumulative[i]),
                "cumulative_cdi": _fraction(result.cumulative_cdi[i]),
                "drawdown": _fraction(result.drawdown[i]),
            }
            for i, d in enumerate(result.days)
        ],
    }


def _line(group: Group, parts: dict[str, Decimal]) -> dict[str, Any]:
    return {
        "name": group.name,
        "pnl": group.pnl,
        "contribution_bps": _bps(group.contribution),
        "sources": parts,
    }


def contributions_data(result: Attribution, by: str) -> dict[str, Any]:
    items = exports.groups(result, by)
    summed = exports.total(items)
    lines = [
        _line(g, exports.split(g)) | {"children": [_line(c, exports.split(c)) for c in g.children]}
        for g in items
    ]
    return {
        "portfolio": result.portfolio.code,
        "period": _period(result),
        "by": by,
        "lines": lines,
        "total": _line(summed, summed.sources),
    }


def _cell(month: int, cell: exports.Cell) -> dict[str, Any]:
    return {
        "month": month,
        "fund": _fraction(cell.fund),
        "cdi": _fraction(cell.cdi),
        "pct_cdi": _fraction(cell.pct_cdi, RATIO_PLACES),
    }


def monthly_data(portfolio: Portfolio) -> dict[str, Any]:
    years = [
        {
            "year": row.year,
            "months": [_cell(m, c) for m, c in enumerate(row.months, start=1) if c is not None],
            "total": _cell(13, row.total),
        }
        for row in exports.monthly_history(portfolio)
    ]
    return {"portfolio": portfolio.code, "years": years}


def _rounded(value: Any) -> Any:
    """The stored JSON with every float rounded (returns to 8 places, basis points to 2)."""
    if isinstance(value, dict):
        return {
            k: _fraction(v, BP_PLACES) if k == "bps" and isinstance(v, float) else _rounded(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return _fraction(value)
    return value


# --- requests -------------------------------------------------------------------------------


def _invalid(form: Form) -> ValidationError:
    errors = {
        ("non_field_errors" if name == "__all__" else name): [str(m) for m in messages]
        for name, messages in form.errors.items()
    }
    return ValidationError(errors)


def _period_of(request: Request, **overrides: str) -> tuple[Portfolio, Period]:
    """The request's portfolio and checked period, or a 400 that says why."""
    active_fund_or_404(request.user, request.query_params.get("portfolio"))
    form = PeriodForm({**request.query_params.dict(), **overrides})
    scope_form(form, request.user)
    if not form.is_valid():
        raise _invalid(form)
    portfolio, period = form.cleaned_data["portfolio"], form.cleaned_data.get("resolved")
    if portfolio is None or period is None:
        raise ValidationError({"portfolio": ["No active portfolio yet."]})
    return portfolio, period


def _attribution(request: Request) -> Attribution:
    """The read model for the request's portfolio and period, or a 400 that says why."""
    portfolio, period = _period_of(request)
    return build_attribution(portfolio, period)  # its ValidationError: api_exception_handler


PERIOD_PARAMS = [
    OpenApiParameter("portfolio", str, description="Portfolio code (default: the first)."),
    OpenApiParameter("period", str, enum=list(PERIODS), description="Default ytd."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="Custom period: first day."),
    OpenApiParameter(
        "end", OpenApiTypes.DATE, description="Custom period: last day (default: latest)."
    ),
]


class AttributionViewSet(viewsets.ViewSet):
    """Performance of a fund: returns and statistics, contributions, monthly grid, snapshots."""

    permission_classes = [RolePermission]

    @extend_schema(parameters=PERIOD_PARAMS, responses=ReturnsSerializer)
    @action(detail=False)
    def returns(self, request: Request) -> Response:
        """TWR, CDI, % of CDI, Dietz, IRR, statistics and the daily series of a period."""
        return Response(ReturnsSerializer(returns_data(_attribution(request))).data)

    @extend_schema(
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter(
                "by", str, enum=list(exports.GROUPINGS), description="Default strategy."
            ),
        ],
        responses=ContributionsSerializer,
    )
    @action(detail=False)
    def contributions(self, request: Request) -> Response:
        """Each line's P&L (BRL) and linked contribution (bp); the lines add up to the total."""
        by = request.query_params.get("by") or "strategy"
        if by not in exports.GROUPINGS:
            raise ValidationError(
                {"by": [f"Unknown grouping {by!r}; use one of {', '.join(exports.GROUPINGS)}."]}
            )
        result = _attribution(request)
        return Response(ContributionsSerializer(contributions_data(result, by)).data)

    @extend_schema(
        parameters=[PERIOD_PARAMS[0]],
        responses=MonthlySerializer,
    )
    @action(detail=False)
    def monthly(self, request: Request) -> Response:
        """The factsheet grid since inception: each month's and year's return and CDI."""
        portfolio, _ = _period_of(request, period="itd", start="", end="")
        return Response(MonthlySerializer(monthly_data(portfolio)).data)

    @extend_schema(
        parameters=[
            PERIOD_PARAMS[0],
            OpenApiParameter("date", OpenApiTypes.DATE, description="Default: the latest stored."),
        ],
        responses=AttributionSnapshotSerializer,
    )
    @action(detail=False)
    def snapshot(self, request: Request) -> Response:
        """The performance stored by the EOD run (`run_attribution`) for a date."""
        active_fund_or_404(request.user, request.query_params.get("portfolio"))
        form = SnapshotForm(request.query_params)
        scope_form(form, request.user)
        if not form.is_valid():
            raise _invalid(form)
        portfolio, day = form.cleaned_data["portfolio"], form.cleaned_data["date"]
        rows = PerformanceSnapshot.objects.filter(portfolio=portfolio)
        snapshot = rows.filter(date=day).first() if day else rows.order_by("-date").first()
        if snapshot is None:
            on = f" on {day:%Y-%m-%d}" if day else ""
            raise NotFound(
                f"No performance snapshot for {portfolio.code}{on}: run_attribution stores it."
            )
        fresh = staleness(
            portfolio.pk,
            Basis.of(snapshot.basis),
            through=snapshot.date,
            book_through=snapshot.date,
        )
        data = {
            "portfolio": portfolio.code,
            "date": snapshot.date,
            "computed_at": snapshot.computed_at,
            **fresh.as_dict(),
            "periods": _rounded(snapshot.periods),
        }
        return Response(AttributionSnapshotSerializer(data).data)


def register(router: BaseRouter) -> None:
    router.register("attribution", AttributionViewSet, basename="attribution")
