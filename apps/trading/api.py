"""Trades over HTTP (/api/trades/): list, read, record and reverse.

Every booking goes through `apps.trading.services` (the same as the pages and the admin)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.core.inputs import FreeTextSerializerField
from apps.core.permissions import DECIDERS, RolePermission
from apps.marketdata.models import Instrument
from apps.marketdata.validators import validate_quoted_rate
from apps.positions.access import portfolio_or_404, visible
from apps.positions.api import TradersWrite, _parse_date, money, price
from apps.positions.models import Portfolio, Side, Strategy, Trade
from apps.positions.scoped import FundSlugRelatedField
from apps.positions.services import TradeTicket
from apps.trading import overrides, services
from apps.trading.models import OverrideRequest
from apps.trading.pretrade import TradeRefused


class TradeSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    strategy = serializers.CharField(source="strategy.code", read_only=True)
    ticker = serializers.CharField(source="instrument.ticker", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    reversed_by = serializers.SerializerMethodField()
    price = price()
    fees = money()

    class Meta:
        model = Trade
        fields: tuple[str, ...] = (
            "id",
            "portfolio",
            "strategy",
            "instrument",
            "ticker",
            "position",
            "side",
            "quantity",
            "price",
            "rate",
            "trade_date",
            "settlement_date",
            "fx_rate",
            "fees",
            "broker",
            "notes",
            "reverses",
            "reversed_by",
            "created_by",
            "created_at",
        )

    def get_reversed_by(self, trade: Trade) -> int | None:
        reversal = getattr(trade, "reversed_by", None)
        return reversal.pk if reversal is not None else None


class TradeInputSerializer(serializers.Serializer):
    """A trade ticket; `rate` is a decimal fraction (0.14901), `strategy` a code of the fund."""

    portfolio = FundSlugRelatedField(slug_field="code", queryset=Portfolio.objects.active())
    strategy = serializers.CharField(max_length=32)
    instrument = serializers.PrimaryKeyRelatedField(queryset=Instrument.objects.all())
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    price = price(required=False, allow_null=True)
    rate = serializers.DecimalField(
        max_digits=14,
        decimal_places=8,
        required=False,
        allow_null=True,
        validators=[validate_quoted_rate],
    )
    trade_date = serializers.DateField()
    settlement_date = serializers.DateField(required=False, allow_null=True)
    fees = money(required=False, default=Decimal("0"))
    broker = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    notes = FreeTextSerializerField(required=False, allow_blank=True, default="")
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Only run the pre-trade check: answer its verdict (200), write nothing.",
    )
    confirm_warnings = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Book despite the pre-trade check's warnings (journaled with the trade).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        code = attrs["strategy"]
        strategy = Strategy.objects.filter(portfolio=attrs["portfolio"], code=code).first()
        if strategy is None:
            raise ValidationError({"strategy": f"No strategy {code!r} in {attrs['portfolio']}."})
        attrs["strategy"] = strategy
        return attrs

    def ticket(self) -> TradeTicket:
        data = dict(self.validated_data)
        for extra in ("dry_run", "confirm_warnings", "reason"):
            data.pop(extra, None)
        return TradeTicket(**data)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class OverrideAskSerializer(TradeInputSerializer):
    """A ticket refused for a hard-limit breach, and why an approver should release it."""

    reason = FreeTextSerializerField(help_text="The booker's case for the override.")


class OverrideRequestSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    strategy = serializers.CharField(source="strategy.code", read_only=True)
    ticker = serializers.CharField(source="instrument.ticker", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True
    )
    price = price()

    class Meta:
        model = OverrideRequest
        fields = (
            "id",
            "status",
            "portfolio",
            "strategy",
            "instrument",
            "ticker",
            "side",
            "quantity",
            "price",
            "rate",
            "trade_date",
            "reason",
            "verdict",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "note",
            "trade",
        )


class DecideOverrideSerializer(serializers.Serializer):
    note = FreeTextSerializerField(required=False, allow_blank=True, default="")


class Deciders(RolePermission):
    write_roles = DECIDERS


class RuleResultSerializer(serializers.Serializer):
    rule = serializers.CharField()
    # DRF's metaclass takes declared fields off the class: "label" shadows nothing at run time.
    label = serializers.CharField()  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=["pass", "warn", "block", "n/a"])
    message = serializers.CharField()
    value = serializers.DecimalField(max_digits=40, decimal_places=8, allow_null=True)
    warn = serializers.DecimalField(max_digits=40, decimal_places=8, allow_null=True)
    block = serializers.DecimalField(max_digits=40, decimal_places=8, allow_null=True)
    ticket = serializers.IntegerField()


class VerdictSerializer(serializers.Serializer):
    """The pre-trade check's verdict: every rule with its numbers, and the what-if."""

    status = serializers.ChoiceField(choices=["pass", "warn", "block"])
    reversal = serializers.BooleanField()
    checked_at = serializers.CharField()
    results = RuleResultSerializer(many=True)
    what_if = serializers.JSONField(allow_null=True)


class BookedSerializer(TradeSerializer):
    """A recorded trade (or reversal) with the pre-trade verdict it was booked on."""

    verdict = serializers.SerializerMethodField()

    class Meta(TradeSerializer.Meta):
        fields = (*TradeSerializer.Meta.fields, "verdict")

    @extend_schema_field(VerdictSerializer)
    def get_verdict(self, trade: Trade) -> dict[str, Any]:
        return VerdictSerializer(self.context["verdict"].as_dict()).data


class RefusalSerializer(serializers.Serializer):
    """A refused ticket: the messages (by field) and the verdict that refused it."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    verdict = VerdictSerializer()


def booked(result: services.Booked, status_code: int) -> Response:
    data = BookedSerializer(result.trade, context={"verdict": result.verdict}).data
    return Response(data, status=status_code)


def refused(error: TradeRefused) -> Response:
    """400 with the refusal's messages by field and the whole verdict."""
    body: dict[str, Any] = {
        ("non_field_errors" if name == NON_FIELD_ERRORS else name): messages
        for name, messages in error.message_dict.items()
    }
    body["verdict"] = VerdictSerializer(error.verdict.as_dict()).data
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class TradeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [TradersWrite]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return TradeInputSerializer
        if self.action == "reverse":
            return ReverseSerializer
        return TradeSerializer

    def get_queryset(self) -> QuerySet[Trade]:
        rows = Trade.objects.select_related(
            "portfolio", "strategy", "instrument", "created_by", "reversed_by"
        )
        rows = visible(self.request.user, rows, field="portfolio_id")
        params = self.request.query_params
        if code := params.get("portfolio"):
            rows = rows.filter(portfolio=portfolio_or_404(self.request.user, code=code))
        if start := _parse_date(params.get("from"), "from"):
            rows = rows.filter(trade_date__gte=start)
        if end := _parse_date(params.get("to"), "to"):
            rows = rows.filter(trade_date__lte=end)
        return rows.order_by("trade_date", "pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="Trade date on or after."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Trade date on or before."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TradeInputSerializer,
        responses={201: BookedSerializer, 200: VerdictSerializer, 400: RefusalSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Check and record a trade (a backdated one re-marks the book, all or nothing).

        The pre-trade check refuses a block (400, journaled) and a warning not confirmed
        (400, `confirm_warnings: true` books it); `dry_run: true` answers the verdict only."""
        form = TradeInputSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        by, data = actor(request), form.validated_data
        if data["dry_run"]:
            verdict = services.dry_run(form.ticket(), by=by)
            return Response(VerdictSerializer(verdict.as_dict()).data)
        try:
            result = services.book_trade(
                form.ticket(), by=by, confirm_warnings=data["confirm_warnings"]
            )
        except TradeRefused as error:
            return refused(error)
        return booked(result, status.HTTP_201_CREATED)

    @extend_schema(
        request=OverrideAskSerializer,
        responses={201: OverrideRequestSerializer, 400: RefusalSerializer},
    )
    @action(detail=False, methods=["post"], url_path="request-override")
    def request_override(self, request: Request) -> Response:
        """Ask an approver who is not you to release a ticket's hard-limit breach."""
        form = OverrideAskSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        asked = overrides.request_override(
            form.ticket(),
            by=actor(request),
            reason=form.validated_data["reason"],
            confirm_warnings=form.validated_data["confirm_warnings"],
        )
        return Response(OverrideRequestSerializer(asked).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReverseSerializer, responses={201: BookedSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str | None = None) -> Response:
        """Reverse a trade (reason required) and re-mark from its date."""
        trade = self.get_object()
        form = ReverseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = services.reverse_trade(
            trade, by=actor(request), reason=form.validated_data["reason"]
        )
        return booked(result, status.HTTP_201_CREATED)


class OverrideRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Hard-limit override requests: read by every role, decided by a manager or an approver
    who is not the booker (a grant books the ticket)."""

    serializer_class = OverrideRequestSerializer
    permission_classes = [Deciders]

    def get_queryset(self) -> QuerySet[OverrideRequest]:
        rows = OverrideRequest.objects.select_related(
            "portfolio", "strategy", "instrument", "requested_by", "decided_by"
        )
        rows = visible(self.request.user, rows, field="portfolio_id")
        if status_filter := self.request.query_params.get("status"):
            rows = rows.filter(status=status_filter.upper())
        return rows.order_by("-created_at", "-pk")

    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="PENDING, GRANTED, DECLINED.")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DecideOverrideSerializer, responses={201: BookedSerializer})
    @action(detail=True, methods=["post"])
    def grant(self, request: Request, pk: str | None = None) -> Response:
        """Release the breach with a note: the ticket is checked again and booked now."""
        asked = self.get_object()  # another fund's request: 404 before anything else
        form = DecideOverrideSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = overrides.grant_override(
                asked, by=actor(request), note=form.validated_data["note"]
            )
        except TradeRefused as error:
            return refused(error)
        return booked(result, status.HTTP_201_CREATED)

    @extend_schema(request=DecideOverrideSerializer, responses=OverrideRequestSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        """Refuse to release the breach (a note is required); nothing is booked."""
        asked = self.get_object()
        form = DecideOverrideSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        declined = overrides.decline_override(
            asked, by=actor(request), note=form.validated_data["note"]
        )
        return Response(OverrideRequestSerializer(declined).data)


def register(router: BaseRouter) -> None:
    router.register("trades", TradeViewSet, basename="trade")
    router.register("trade-overrides", OverrideRequestViewSet, basename="trade-override")
