"""Read-only API over instruments, settlement prices and fixings."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.routers import BaseRouter

from apps.marketdata.intraday_api import IntradayPriceViewSet
from apps.marketdata.models import Fixing, Instrument, SettlementPrice


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"date": f"{raw!r} is not a date (use YYYY-MM-DD)."}) from None


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = (
            "id",
            "ticker",
            "name",
            "kind",
            "asset_class",
            "currency",
            "multiplier",
            "maturity",
            "quote_convention",
            "underlying",
            "active",
        )


class SettlementPriceSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(source="instrument.ticker", read_only=True)

    class Meta:
        model = SettlementPrice
        fields = ("id", "ticker", "date", "source", "price", "rate", "open_interest", "reason")


class FixingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Fixing
        fields = ("id", "index", "date", "value", "source")


class InstrumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = InstrumentSerializer

    def get_queryset(self) -> QuerySet[Instrument]:
        rows = Instrument.objects.all()
        if kind := self.request.query_params.get("kind"):
            rows = rows.filter(kind=kind)
        return rows


class SettlementPriceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SettlementPriceSerializer

    def get_queryset(self) -> QuerySet[SettlementPrice]:
        rows = SettlementPrice.objects.select_related("instrument")
        params = self.request.query_params
        if ticker := params.get("ticker"):
            rows = rows.filter(instrument__ticker=ticker.upper())
        if day := params.get("date"):
            rows = rows.filter(date=_parse_date(day))
        return rows


class FixingViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FixingSerializer

    def get_queryset(self) -> QuerySet[Fixing]:
        rows = Fixing.objects.all()
        if index := self.request.query_params.get("index"):
            rows = rows.filter(index=index.upper())
        return rows


def register(router: BaseRouter) -> None:
    router.register("instruments", InstrumentViewSet, basename="instrument")
    router.register("prices", SettlementPriceViewSet, basename="price")
    router.register("fixings", FixingViewSet, basename="fixing")
    router.register("intraday-prices", IntradayPriceViewSet, basename="intraday-price")
