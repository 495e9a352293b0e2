"""`/api/intraday-prices/`: today's intraday prices (GET) and new ones (POST, all or none)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.actors import actor
from apps.core.permissions import RolePermission
from apps.marketdata.intraday import ENTERERS, Entry, enter_prices
from apps.marketdata.models import IntradayPrice

MAX_PRICES = 2000


class IntradayWrite(RolePermission):
    write_roles = ENTERERS


class IntradayEntrySerializer(serializers.Serializer):
    instrument = serializers.CharField(max_length=32, help_text="Ticker: DI1F27, WDOF27, PETR4.")
    price = serializers.DecimalField(
        max_digits=24,
        decimal_places=8,
        required=False,
        allow_null=True,
        help_text="For instruments quoted in price.",
    )
    rate_pct = serializers.DecimalField(
        max_digits=10,
        decimal_places=6,
        required=False,
        allow_null=True,
        help_text="For rate-quoted instruments, in % as quoted: 14.50.",
    )
    at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the price was seen (default: now)."
    )


class IntradayEntriesSerializer(serializers.Serializer):
    prices = IntradayEntrySerializer(  # type: ignore[call-arg]  # ListSerializer's own
        many=True, allow_empty=False, max_length=MAX_PRICES
    )


class IntradayPriceSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    instrument = serializers.CharField(source="instrument.ticker")
    rate_pct = serializers.SerializerMethodField()

    class Meta:
        model = IntradayPrice
        fields = ("id", "instrument", "day", "at", "price", "rate_pct", "source", "created_at")

    def get_rate_pct(self, row: IntradayPrice) -> str | None:
        return None if row.rate is None else f"{row.rate.scaleb(2).normalize():f}"


class IntradayPriceViewSet(viewsets.ViewSet):
    permission_classes = [IntradayWrite]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, description="The trading day (default: today)."
            )
        ],
        responses=IntradayPriceSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        """A day's intraday prices, oldest first (provisional: never used by the EOD)."""
        raw = request.query_params.get("date")
        try:
            day = date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError:
            raise ValidationError({"date": [f"{raw!r} is not a date (YYYY-MM-DD)."]}) from None
        rows = IntradayPrice.objects.filter(day=day).select_related("instrument")
        return Response(IntradayPriceSerializer(rows.order_by("at", "pk"), many=True).data)

    @extend_schema(
        request=IntradayEntriesSerializer, responses={201: IntradayPriceSerializer(many=True)}
    )
    def create(self, request: Request) -> Response:
        """Enter intraday prices for today, all or none: a price for instruments quoted in
        price, `rate_pct` for rate-quoted ones (converted to the day's PU)."""
        form = IntradayEntriesSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        entries = [
            Entry(
                ticker=item["instrument"],
                price=item.get("price"),
                rate_pct=item.get("rate_pct"),
                at=item.get("at"),
                where=f"prices[{i}]",
            )
            for i, item in enumerate(form.validated_data["prices"])
        ]
        try:
            stored = enter_prices(entries, by=actor(request), source=IntradayPrice.Source.API)
        except PermissionDenied as error:
            raise ApiPermissionDenied(str(error)) from error
        except DjangoValidationError as error:
            raise ValidationError({"prices": error.messages}) from error
        body: Any = IntradayPriceSerializer(stored, many=True).data
        return Response(body, status=status.HTTP_201_CREATED)
