"""The book over HTTP: the read model, positions and the MTM run (trades: `apps.trading.api`).

Every write goes through the same functions as the pages (`mtm.run_mtm`);
money and prices are DecimalFields (strings in JSON), rates decimal fractions (0.14901).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.core.permissions import RolePermission
from apps.core.roles import Role
from apps.positions.access import active_fund_or_404, portfolio_or_404, visible
from apps.positions.intraday import cached_estimate
from apps.positions.models import Portfolio, Position
from apps.positions.mtm import MtmError, run_mtm
from apps.positions.queries import build_book
from apps.positions.scoped import FundSlugRelatedField

TRADERS = (Role.MANAGER, Role.BACK_OFFICE)
MARKERS = (Role.MANAGER, Role.BACK_OFFICE, Role.OPS)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def price(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=24, decimal_places=8, **kwargs)


def fraction(**kwargs: Any) -> serializers.DecimalField:
    """A fraction of NAV or a rate (0.0012 = 12 bp)."""
    return serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True, **kwargs)


class TradersWrite(RolePermission):
    write_roles = TRADERS


class MarkersWrite(RolePermission):
    write_roles = MARKERS


def _parse_date(raw: str | None, name: str = "date") -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: f"{raw!r} is not a date (use YYYY-MM-DD)."}) from None


def _portfolio(request: Request, code: str | None) -> Portfolio:
    """The user's active fund `code` names (404 if they may not see it), else their first."""
    found = active_fund_or_404(request.user, code)
    if found is None:
        raise ValidationError({"portfolio": f"No active portfolio {code!r}." if code else "None."})
    return found


# --- the book read model ------------------------------------------------------------------


class BookRowSerializer(serializers.Serializer):
    position_id = serializers.IntegerField()
    ticker = serializers.CharField()
    instrument_name = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    maturity = serializers.DateField(allow_null=True)
    strategy_code = serializers.CharField()
    strategy = serializers.CharField()
    asset_class = serializers.CharField()
    rate_quoted = serializers.BooleanField()
    side = serializers.CharField()
    side_label = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    avg_cost = price(allow_null=True)
    price = price()
    rate = fraction()
    fx_rate = serializers.DecimalField(max_digits=14, decimal_places=6)
    notional_brl = money()
    exposure_brl = money()
    exposure_of_nav = fraction()
    dv01_brl = money()
    day_pnl_brl = money()
    day_pnl_of_nav = fraction()
    mtd_pnl_brl = money()
    mtd_pnl_of_nav = fraction()
    ytd_pnl_brl = money()
    ytd_pnl_of_nav = fraction()
    realized_pnl_brl = money()
    unrealized_pnl_brl = money()
    is_open = serializers.BooleanField()
    closed_on = serializers.DateField(allow_null=True)


class TotalsSerializer(serializers.Serializer):
    positions = serializers.IntegerField()
    notional_brl = money()
    gross_exposure_brl = money()
    net_exposure_brl = money()
    gross_exposure_of_nav = fraction()
    net_exposure_of_nav = fraction()
    dv01_brl = money()
    day_pnl_brl = money()
    day_pnl_of_nav = fraction()
    mtd_pnl_brl = money()
    mtd_pnl_of_nav = fraction()
    ytd_pnl_brl = money()
    ytd_pnl_of_nav = fraction()
    realized_pnl_brl = money()
    unrealized_pnl_brl = money()


class BookGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField(source="label")
    position_ids = serializers.SerializerMethodField()
    totals = TotalsSerializer()

    def get_position_ids(self, group: Any) -> list[int]:
        return [row.position_id for row in group.rows]


class NavBridgeSerializer(serializers.Serializer):
    date = serializers.DateField()
    nav_open = money()
    pnl_brl = money()
    cash_interest_brl = money()
    fees_brl = money()
    flows_brl = money()
    nav_close = money()


class HeadlineSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    nav = money()
    day_pnl_brl = money()
    day_pnl_of_nav = fraction()
    positions_pnl_brl = money()
    mtd_pnl_brl = money()
    mtd_pnl_of_nav = fraction()
    ytd_pnl_brl = money()
    ytd_pnl_of_nav = fraction()
    gross_exposure_of_nav = fraction()
    net_exposure_of_nav = fraction()
    dv01_brl = money()
    cash_brl = money()
    open_positions = serializers.IntegerField()
    month_start_nav = money()
    year_start_nav = money()
    bridge = NavBridgeSerializer()


class BookSerializer(serializers.Serializer):
    portfolio = serializers.CharField(source="portfolio_code")
    portfolio_name = serializers.CharField()
    requested = serializers.DateField()
    as_of = serializers.DateField(allow_null=True)
    latest_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=["ok", "empty", "before_inception"])
    message = serializers.CharField()
    strategy = serializers.CharField(allow_null=True)
    asset_class = serializers.CharField(allow_null=True)
    include_closed = serializers.BooleanField()
    unmarked_positions = serializers.IntegerField()
    headline = HeadlineSerializer(allow_null=True)
    rows = BookRowSerializer(many=True)
    by_strategy = BookGroupSerializer(many=True)
    by_asset_class = BookGroupSerializer(many=True)
    totals = TotalsSerializer()


class EstimateRowSerializer(serializers.Serializer):
    position_id = serializers.IntegerField()
    ticker = serializers.CharField()
    strategy = serializers.CharField()
    quantity = price()
    price = price(help_text="The price or PU valued at.")
    rate = fraction()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named "source"
        choices=["intraday", "settlement", "close"],
        help_text="intraday: a price entered today (see quoted_at); settlement: today's "
        "official, not yet marked; close: the last close carried (rate-quoted: its rate).",
    )
    quoted_at = serializers.DateTimeField(allow_null=True)
    pnl = money(help_text="P&L since the last close, by the MTM's B3 rules.")
    dv01 = money()
    exposure = money()


class EstimateSerializer(serializers.Serializer):
    provisional = serializers.BooleanField(default=True)
    status = serializers.ChoiceField(
        choices=["ok", "unmarked", "closed", "superseded", "behind"],
        help_text="closed: not a trading day; superseded: today's EOD has marked the book; "
        "behind: the last close is older than the previous business day.",
    )
    day = serializers.DateField()
    base_day = serializers.DateField(allow_null=True, help_text="The close it starts from.")
    computed_at = serializers.DateTimeField()
    latest_quote_at = serializers.DateTimeField(allow_null=True)
    nav_base = money()
    nav = money(help_text="Estimated NAV now.")
    pnl = money()
    interest = money()
    fees = money()
    dv01 = money()
    gross = money()
    net = money()
    trades_today = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    rows = EstimateRowSerializer(many=True)


class BookViewSet(viewsets.ViewSet):
    permission_classes = [TradersWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code (default: first)."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="As of (default: latest)."),
            OpenApiParameter("strategy", str, description="Strategy code."),
            OpenApiParameter("asset_class", str, description="RATES, FX, EQUITY …"),
            OpenApiParameter("closed", bool, description="Include positions closed this year."),
            OpenApiParameter(
                "intraday", bool, description="Add `intraday`: the provisional estimate now."
            ),
        ],
        responses=BookSerializer,
    )
    def list(self, request: Request) -> Response:
        """The book as marked on the latest marked date on or before `date`; with
        `intraday=1`, also the intraday estimate of the book now (provisional)."""
        params = request.query_params
        portfolio = _portfolio(request, params.get("portfolio"))
        book = build_book(
            portfolio,
            _parse_date(params.get("date")) or timezone.localdate(),
            strategy=params.get("strategy") or None,
            asset_class=params.get("asset_class") or None,
            include_closed=params.get("closed", "").lower() in ("1", "true"),
        )
        body = dict(BookSerializer(book).data)
        if params.get("intraday", "").lower() in ("1", "true"):
            body["intraday"] = EstimateSerializer(cached_estimate(portfolio).value).data
        return Response(body)


# --- positions ------------------------------------------------------------------------------


class PositionSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    strategy = serializers.CharField(source="strategy.code", read_only=True)
    ticker = serializers.CharField(source="instrument.ticker", read_only=True)
    avg_cost = price()
    realized_pnl = money()

    class Meta:
        model = Position
        fields = (
            "id",
            "portfolio",
            "strategy",
            "instrument",
            "ticker",
            "direction",
            "quantity",
            "avg_cost",
            "realized_pnl",
            "opened_date",
            "closed_date",
            "thesis",
            "stop",
            "target",
        )


class PositionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PositionSerializer
    permission_classes = [TradersWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code."),
            OpenApiParameter("open", bool, description="true: open only; false: closed only."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Position]:
        rows = Position.objects.select_related("portfolio", "strategy", "instrument")
        rows = visible(self.request.user, rows, field="portfolio_id")
        params = self.request.query_params
        if code := params.get("portfolio"):
            rows = rows.filter(portfolio=portfolio_or_404(self.request.user, code=code))
        flag = params.get("open", "").lower()
        if flag in ("true", "1"):
            rows = rows.open()
        elif flag in ("false", "0"):
            rows = rows.filter(quantity=0)
        return rows.order_by("portfolio__code", "strategy__name", "instrument__ticker")


# --- MTM --------------------------------------------------------------------------------------


class MtmRequestSerializer(serializers.Serializer):
    portfolio = FundSlugRelatedField(slug_field="code", queryset=Portfolio.objects.active())
    date = serializers.DateField()


class MtmResultSerializer(serializers.Serializer):
    portfolio = serializers.CharField(source="portfolio.code")
    date = serializers.DateField(source="day")
    marks = serializers.IntegerField()
    nav = NavBridgeSerializer()


class MtmViewSet(viewsets.ViewSet):
    permission_classes = [MarkersWrite]

    @extend_schema(request=MtmRequestSerializer, responses={201: MtmResultSerializer})
    def create(self, request: Request) -> Response:
        """Mark every position of a portfolio on a business date and close its NAV."""
        form = MtmRequestSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        try:
            result = run_mtm(
                form.validated_data["portfolio"], form.validated_data["date"], by=actor(request)
            )
        except MtmError as error:
            return Response({"detail": " ".join(error.messages)}, status=400)
        return Response(MtmResultSerializer(result).data, status=status.HTTP_201_CREATED)


def register(router: BaseRouter) -> None:
    router.register("book", BookViewSet, basename="book")
    router.register("positions", PositionViewSet, basename="position")
    router.register("mtm", MtmViewSet, basename="mtm")
