"""The morning pack over HTTP: the latest pack, one day's (any version), and generation.

Generation calls the same service as the page (`generate_morning_pack`): a viewer gets its 403,
a non-business date its 400. Facts are the stored JSON, exactly what the narrative was checked
against.
"""

from __future__ import annotations

import datetime
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.briefings.models import MorningPack, pack_freshness
from apps.briefings.services import GENERATORS, generate_morning_pack
from apps.briefings.views import FIRST_YEAR, LAST_YEAR
from apps.core.actors import actor
from apps.core.permissions import RolePermission
from apps.core.staleness import Staleness
from apps.positions.access import active_fund_or_404
from apps.positions.models import Portfolio
from apps.positions.scoped import FundSlugRelatedField

PORTFOLIO = OpenApiParameter("portfolio", str, description="Portfolio code (default: first).")


class ReadOrGenerate(RolePermission):
    """Every role reads; managers, approvers and ops generate (the service checks again)."""

    write_roles = GENERATORS


class MorningPackSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, read_only=True
    )
    facts = serializers.JSONField(read_only=True)
    timings = serializers.JSONField(read_only=True, help_text="Milliseconds per step.")
    computed_at = serializers.DateTimeField(source="created_at", read_only=True)
    stale = serializers.SerializerMethodField(
        help_text="True when the close's book or prices changed after the pack was generated."
    )
    stale_reason = serializers.SerializerMethodField(help_text="What changed and when.")

    class Meta:
        model = MorningPack
        fields = (
            "id",
            "portfolio",
            "business_date",
            "version",
            "language",
            "source",
            "model",
            "prompt_hash",
            "rejection_reason",
            "timings",
            "facts_version",
            "facts",
            "narrative",
            "created_by",
            "created_at",
            "computed_at",
            "stale",
            "stale_reason",
        )

    def get_stale(self, pack: MorningPack) -> bool:
        return _freshness(self, pack).stale

    def get_stale_reason(self, pack: MorningPack) -> str:
        return _freshness(self, pack).sentence()


class GenerateSerializer(serializers.Serializer):
    portfolio = FundSlugRelatedField(slug_field="code", queryset=Portfolio.objects.active())
    date = serializers.DateField(help_text="The business date the pack prepares.")
    language = serializers.ChoiceField(
        choices=["pt-BR", "en"], required=False, help_text="Default: MORNING_PACK_LANGUAGE."
    )

    def validate_date(self, day: datetime.date) -> datetime.date:
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationError(f"Years {FIRST_YEAR}–{LAST_YEAR} only.")
        return day


def _portfolio(request: Request, code: str | None) -> Portfolio:
    """The user's active fund `code` names (404 if they may not see it), else their first."""
    found = active_fund_or_404(request.user, code)
    if found is None:
        raise ValidationError({"portfolio": f"No active portfolio {code!r}." if code else "None."})
    return found


def _date(raw: str | None) -> date:
    if not raw:
        raise ValidationError({"date": "Required (YYYY-MM-DD)."})
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"date": f"{raw!r} is not a date (use YYYY-MM-DD)."}) from None


def _version(raw: str | None) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError({"version": f"{raw!r} is not a version number."})
    return int(raw)


class OnePackSchema(AutoSchema):
    """`GET /morning-pack/?date=` answers one pack, not a list."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


class MorningPackViewSet(viewsets.ViewSet):
    permission_classes = [ReadOrGenerate]
    schema = OnePackSchema()

    @extend_schema(
        parameters=[
            PORTFOLIO,
            OpenApiParameter(
                "date", OpenApiTypes.DATE, required=True, description="Business date."
            ),
            OpenApiParameter("version", int, description="Default: the day's latest version."),
        ],
        responses=MorningPackSerializer,
    )
    def list(self, request: Request) -> Response:
        """One day's pack: the given version, or the latest one of that day."""
        params = request.query_params
        portfolio, day = _portfolio(request, params.get("portfolio")), _date(params.get("date"))
        version = _version(params.get("version"))
        packs = MorningPack.objects.filter(portfolio=portfolio, business_date=day)
        pack = (packs.filter(version=version) if version else packs).first()
        if pack is None:
            which = f" version {version}" if version else ""
            raise NotFound(f"No morning pack{which} for {portfolio.code} on {day:%Y-%m-%d}.")
        return Response(MorningPackSerializer(pack).data)

    @extend_schema(parameters=[PORTFOLIO], responses=MorningPackSerializer)
    @action(detail=False)
    def latest(self, request: Request) -> Response:
        """The newest pack of the portfolio (latest business date, then latest version)."""
        portfolio = _portfolio(request, request.query_params.get("portfolio"))
        pack = MorningPack.objects.filter(portfolio=portfolio).first()
        if pack is None:
            raise NotFound(f"{portfolio.code} has no morning pack yet.")
        return Response(MorningPackSerializer(pack).data)

    @extend_schema(request=GenerateSerializer, responses={201: MorningPackSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        """Generate a new version of a day's pack (may call the LLM; template fallback)."""
        form = GenerateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            pack = generate_morning_pack(
                data["portfolio"], data["date"], by=actor(request), language=data.get("language")
            )
        except DjangoValidationError as error:
            raise ValidationError({"date": error.messages}) from None
        return Response(MorningPackSerializer(pack).data, status=status.HTTP_201_CREATED)


def _freshness(serializer: MorningPackSerializer, pack: MorningPack) -> Staleness:
    cache = serializer.__dict__.setdefault("_freshness_cache", {})
    if pack.pk not in cache:
        cache[pack.pk] = pack_freshness(pack)
    found: Staleness = cache[pack.pk]
    return found


def register(router: BaseRouter) -> None:
    router.register("morning-pack", MorningPackViewSet, basename="morning-pack")
