"""Risk over HTTP: the live report, stored snapshots and their history, alerts, run.

Reads are open to every role. Writes call the same services as the page: `run_risk` (manager,
approver, ops) and `acknowledge_alert` (its own role check: 403 with its message). A
proposal's what-if (`/api/risk/what-if/`) is served by proposals, which stores it on the
proposal.
Risk figures are floats in BRL (VaR, ES and stress P&L; a loss is negative in P&L vectors and
VaR/ES are positive numbers) or fractions of NAV (`*_pct`, 0.0123 = 1.23 %).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.core.inputs import FreeTextSerializerField
from apps.core.permissions import AnyRole, RolePermission
from apps.core.serializers import Freshness
from apps.positions.access import active_fund_or_404, portfolio_or_404, visible
from apps.positions.models import Portfolio
from apps.positions.scoped import FundSlugRelatedField
from apps.risk.intraday import Shown, current, describe
from apps.risk.models import Alert, RiskSnapshot
from apps.risk.services import (
    acknowledge_alert,
    check_limits,
    compute_report,
    latest_risk_date,
    run_risk,
)
from apps.risk.views import RUNNERS

HEADLINE_KEYS = (
    "nav",
    "var95",
    "var99",
    "es975",
    "pvar99",
    "gross_pct",
    "net_pct",
    "dv01_total",
    "fx_delta_usd",
    "scenarios",
    "stress",
)


class RunnersWrite(RolePermission):
    """Every role reads; a manager, an approver or ops computes."""

    write_roles = RUNNERS


def _date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [f"{raw!r} is not a date (use YYYY-MM-DD)."]}) from None


def _portfolio_param(request: Request) -> Portfolio:
    code = request.query_params.get("portfolio")
    found = active_fund_or_404(request.user, code)  # 404 for a fund the user may not see
    if found is None:
        message = f"No active portfolio {code!r}." if code else "There is no active portfolio."
        raise ValidationError({"portfolio": [message]})
    return found


# --- serializers (the report is stored as JSON; these document and shape it) -----------------


class StressResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["HISTORICAL", "PRIMITIVE", "USER"])
    pnl = serializers.FloatField(help_text="BRL; a loss is negative.")
    pct_nav = serializers.FloatField()
    by_strategy = serializers.DictField(child=serializers.FloatField())
    # DRF takes declared fields off the class, so `source` names the output key here.
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="The historical episode's window, dd/mm/yyyy."
    )


class LimitCheckSerializer(serializers.Serializer):
    limit_id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    metric = serializers.CharField()
    value = serializers.FloatField()
    warning = serializers.FloatField()
    hard = serializers.FloatField()
    utilisation = serializers.FloatField(help_text="Value / hard level (1 = at the hard limit).")
    level = serializers.ChoiceField(choices=["ok", "warning", "hard"])


class ConcentrationSerializer(serializers.Serializer):
    ticker = serializers.CharField()
    strategy = serializers.CharField()
    exposure = serializers.FloatField()
    pct_nav = serializers.FloatField()


def _floats() -> serializers.DictField:
    return serializers.DictField(child=serializers.FloatField())


class HistoryGapSerializer(serializers.Serializer):
    date = serializers.DateField()
    instruments = serializers.ListField(
        child=serializers.CharField(), help_text='Tickers, "PTAX" or "all instruments".'
    )


class RiskReportSerializer(serializers.Serializer):
    asof = serializers.DateField()
    nav = serializers.FloatField()
    positions = serializers.IntegerField()
    scenarios = serializers.IntegerField(help_text="Historical daily moves (VaR wants 252).")
    gross = serializers.FloatField()
    net = serializers.FloatField()
    gross_pct = serializers.FloatField()
    net_pct = serializers.FloatField()
    fx_delta_usd = serializers.FloatField()
    var95 = serializers.FloatField()
    var99 = serializers.FloatField()
    es975 = serializers.FloatField()
    pvar95 = serializers.FloatField()
    pvar99 = serializers.FloatField()
    var99_date = serializers.DateField(allow_null=True)
    dv01_total = serializers.FloatField(help_text="BRL for +1 bp on every curve.")
    dv01_ladder = serializers.DictField(child=_floats(), help_text="curve → {du: BRL per bp}.")
    component_var99 = _floats()
    component_var99_asset = _floats()
    exposures = serializers.DictField(child=_floats())
    concentration = ConcentrationSerializer(many=True)
    stress = StressResultSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    pnl_history = serializers.ListField(child=serializers.FloatField())
    history_gaps = HistoryGapSerializer(
        many=True,
        required=False,
        help_text="Business days of the VaR window missing prices (never spanned by one move).",
    )
    limits = LimitCheckSerializer(many=True)


class RiskSnapshotSerializer(Freshness):
    portfolio = serializers.CharField()
    date = serializers.DateField()
    stored = serializers.BooleanField(help_text="False for a live report (not saved).")
    kind = serializers.ChoiceField(
        choices=["eod", "intraday", "live"],
        help_text="eod: a close's snapshot; intraday: the provisional risk of the book now.",
    )
    computed_at = serializers.DateTimeField()
    report = RiskReportSerializer()


def _snapshot_out(snapshot: Shown, *, latest: bool) -> dict[str, Any]:
    return {
        "portfolio": snapshot.portfolio.code,
        "date": snapshot.date,
        "stored": True,
        **describe(snapshot, latest=latest),
        "report": snapshot.report,
    }


class HistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    nav = serializers.FloatField()
    var95 = serializers.FloatField()
    var99 = serializers.FloatField()
    es975 = serializers.FloatField()
    pvar99 = serializers.FloatField()
    var99_pct = serializers.FloatField()
    es975_pct = serializers.FloatField()
    gross_pct = serializers.FloatField()
    net_pct = serializers.FloatField()
    dv01_total = serializers.FloatField()
    fx_delta_usd = serializers.FloatField()
    scenarios = serializers.IntegerField()
    worst_stress = serializers.CharField(allow_null=True)
    worst_stress_pnl = serializers.FloatField(allow_null=True)


# --- live, snapshot, history --------------------------------------------------------------------


class LiveViewSet(viewsets.ViewSet):
    permission_classes = [RunnersWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code (default: first)."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Default: last NAV date."),
        ],
        responses=RiskSnapshotSerializer,
    )
    def list(self, request: Request) -> Response:
        """The risk report computed now on the marked book (not stored, raises no alert)."""
        portfolio = _portfolio_param(request)
        day = _date_param(request, "date") or latest_risk_date(portfolio)
        if day is None:
            raise ValidationError({"date": [f"{portfolio} has no marked day: run the MTM first."]})
        report = compute_report(portfolio, day)
        payload = {**report.as_dict(), "limits": check_limits(portfolio, report)}
        out = {
            "portfolio": portfolio.code,
            "date": day,
            "stored": False,
            "kind": "live",
            "computed_at": timezone.now(),
            "stale": False,
            "stale_reason": "",
            "report": payload,
        }
        return Response(RiskSnapshotSerializer(out).data)


class SnapshotViewSet(viewsets.ViewSet):
    permission_classes = [RunnersWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code (default: first)."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Default: latest snapshot."),
        ],
        responses=RiskSnapshotSerializer,
    )
    def list(self, request: Request) -> Response:
        """The stored snapshot of a date (404 when that date has none); without a date, the
        risk now: today's intraday snapshot if newer than the last close's. `stale` says
        whether the book or a price changed after it was computed."""
        portfolio = _portfolio_param(request)
        day = _date_param(request, "date")
        rows = RiskSnapshot.objects.filter(portfolio=portfolio).select_related("portfolio")
        snapshot = rows.filter(date=day).first() if day else current(portfolio)
        if snapshot is None:
            when = f"on {day:%Y-%m-%d}" if day else "yet"
            raise NotFound(f"No risk snapshot for {portfolio.code} {when}.")
        out = _snapshot_out(snapshot, latest=day is None)
        return Response(RiskSnapshotSerializer(out).data)


class HistoryViewSet(viewsets.ViewSet):
    permission_classes = [RunnersWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code (default: first)."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="On or after."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="On or before."),
        ],
        responses=HistoryPointSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        """Headline figures of every stored snapshot in the window, oldest first."""
        portfolio = _portfolio_param(request)
        start, end = _date_param(request, "from"), _date_param(request, "to")
        if start and end and start > end:
            raise ValidationError({"from": [f"'from' ({start}) is after 'to' ({end})."]})
        rows = RiskSnapshot.objects.filter(portfolio=portfolio)
        if start:
            rows = rows.filter(date__gte=start)
        if end:
            rows = rows.filter(date__lte=end)
        keys = ["date", *(f"report__{k}" for k in HEADLINE_KEYS)]
        points = [
            _point(dict(zip(["date", *HEADLINE_KEYS], row, strict=True)))
            for row in rows.order_by("date").values_list(*keys)
        ]
        return Response(HistoryPointSerializer(points, many=True).data)


def _point(row: dict[str, Any]) -> dict[str, Any]:
    nav = float(row["nav"] or 0.0) or 1.0
    worst = min(row.pop("stress") or [], key=lambda s: s["pnl"], default=None)
    return {
        **{k: (v if v is not None else 0.0) for k, v in row.items()},
        "var99_pct": float(row["var99"] or 0.0) / nav,
        "es975_pct": float(row["es975"] or 0.0) / nav,
        "worst_stress": worst["name"] if worst else None,
        "worst_stress_pnl": worst["pnl"] if worst else None,
    }


# --- run -----------------------------------------------------------------------------------


class RunInputSerializer(serializers.Serializer):
    portfolio = FundSlugRelatedField(slug_field="code", queryset=Portfolio.objects.active())
    date = serializers.DateField(required=False, help_text="Default: the last NAV date.")


class RunViewSet(viewsets.ViewSet):
    permission_classes = [RunnersWrite]

    @extend_schema(request=RunInputSerializer, responses={201: RiskSnapshotSerializer})
    def create(self, request: Request) -> Response:
        """Compute and store a snapshot (limits checked, alerts raised and journaled)."""
        form = RunInputSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        portfolio = form.validated_data["portfolio"]
        day = form.validated_data.get("date") or latest_risk_date(portfolio)
        if day is None:
            raise ValidationError({"date": [f"{portfolio} has no marked day: run the MTM first."]})
        snapshot = run_risk(portfolio, day, by=actor(request))
        body = RiskSnapshotSerializer(_snapshot_out(snapshot, latest=False)).data
        return Response(body, status=status.HTTP_201_CREATED)


# --- alerts --------------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    limit_label = serializers.CharField(source="limit.__str__", read_only=True)
    metric = serializers.CharField(source="limit.metric", read_only=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", allow_null=True, read_only=True
    )

    class Meta:
        model = Alert
        fields = (
            "id",
            "portfolio",
            "limit",
            "limit_label",
            "metric",
            "date",
            "level",
            "value",
            "utilisation",
            "status",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
            "note",
        )


class AcknowledgeSerializer(serializers.Serializer):
    # Optional here so that the service's own message answers a missing note.
    note = FreeTextSerializerField(allow_blank=True, required=False, default="", max_length=1000)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertSerializer
    permission_classes = [AnyRole]

    def get_queryset(self) -> QuerySet[Alert]:
        rows = Alert.objects.select_related("portfolio", "limit", "acknowledged_by")
        rows = visible(self.request.user, rows, field="portfolio_id")
        if self.action != "list":
            return rows
        params = self.request.query_params
        if code := params.get("portfolio"):
            rows = rows.filter(portfolio=portfolio_or_404(self.request.user, code=code))
        if wanted := params.get("status"):
            if wanted.upper() not in Alert.Status.values:
                choices = ", ".join(s.lower() for s in Alert.Status.values)
                raise ValidationError({"status": [f"{wanted!r} is not one of {choices}."]})
            rows = rows.filter(status=wanted.upper())
        return rows.order_by("-date", "pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code."),
            OpenApiParameter("status", str, enum=["open", "acknowledged"]),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Take responsibility for an alert; `note` (what is being done) is mandatory."""
        alert = self.get_object()
        form = AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = acknowledge_alert(alert, by=actor(request), note=form.validated_data["note"])
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)


def register(router: BaseRouter) -> None:
    router.register("risk/live", LiveViewSet, basename="risk-live")
    router.register("risk/history", HistoryViewSet, basename="risk-history")
    router.register("risk/snapshot", SnapshotViewSet, basename="risk-snapshot")
    router.register("risk/run", RunViewSet, basename="risk-run")
    router.register("risk/alerts", AlertViewSet, basename="risk-alert")
