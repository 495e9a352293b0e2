"""Proposals over HTTP: list, create, and the workflow (approve, reject, modify, execute).

Every write calls the same services as the blotter; their refusals keep their words: a
`PermissionDenied` is a 403 with the service's message, a `ValidationError` a 400 with the
messages on the fields they name. Rates are decimal fractions (0.1425 = 14.25 %).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.core.inputs import FreeTextSerializerField
from apps.core.permissions import AnyRole
from apps.core.staleness import FRESH, Staleness
from apps.marketdata.models import Instrument
from apps.marketdata.validators import validate_quoted_rate
from apps.positions.access import portfolio_or_404
from apps.positions.models import Portfolio, Side, Strategy, Trade
from apps.positions.scoped import FundPrimaryKeyRelatedField, FundSlugRelatedField
from apps.proposals import services
from apps.proposals.forms import default_business_date
from apps.proposals.models import Conviction, Proposal, ProposalStatus
from apps.risk.api import LimitCheckSerializer, RunnersWrite


def _price(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=24, decimal_places=8, allow_null=True, **kwargs)


def _rate(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=8,
        allow_null=True,
        validators=[validate_quoted_rate],
        **kwargs,
    )


def _quantity(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, **kwargs)


class TermsSerializer(serializers.Serializer):
    side = serializers.CharField()
    quantity = serializers.CharField()
    limit_price = serializers.CharField(allow_null=True)
    limit_rate = serializers.CharField(allow_null=True)


class ExecutionSerializer(serializers.ModelSerializer):
    price = _price()

    class Meta:
        model = Trade
        fields = ("id", "position", "side", "quantity", "price", "rate", "trade_date", "fees")


class ProposalSerializer(serializers.ModelSerializer):
    portfolio = serializers.CharField(source="portfolio.code", read_only=True)
    strategy = serializers.CharField(source="strategy.code", read_only=True)
    ticker = serializers.CharField(source="instrument.ticker", read_only=True)
    proposed_by = serializers.CharField(
        source="proposed_by.username", allow_null=True, read_only=True
    )
    decided_by = serializers.CharField(
        source="decided_by.username", allow_null=True, read_only=True
    )
    original_terms = TermsSerializer(read_only=True)
    what_if = serializers.JSONField(read_only=True)
    what_if_stale = serializers.SerializerMethodField(
        help_text="True when the fund's book, or a price of the day it was measured on, changed "
        "after the what-if was measured (pending proposals only)."
    )
    what_if_stale_reason = serializers.SerializerMethodField(help_text="What changed and when.")
    executions = ExecutionSerializer(many=True, read_only=True)
    limit_price = _price()

    class Meta:
        model = Proposal
        fields = (
            "id",
            "portfolio",
            "strategy",
            "instrument",
            "ticker",
            "side",
            "quantity",
            "limit_price",
            "limit_rate",
            "rationale",
            "conviction",
            "source",
            "business_date",
            "expires_at",
            "status",
            "proposed_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "original_terms",
            "executed_at",
            "what_if",
            "what_if_stale",
            "what_if_stale_reason",
            "executions",
            "created_at",
        )

    def _freshness(self, proposal: Proposal) -> Staleness:
        if not proposal.is_decidable:
            return FRESH
        cache = self.__dict__.setdefault("_freshness_cache", {})
        if proposal.pk not in cache:
            cache[proposal.pk] = services.what_if_freshness(proposal)
        found: Staleness = cache[proposal.pk]
        return found

    def get_what_if_stale(self, proposal: Proposal) -> bool:
        return self._freshness(proposal).stale

    def get_what_if_stale_reason(self, proposal: Proposal) -> str:
        return self._freshness(proposal).sentence()


class ProposalInputSerializer(serializers.Serializer):
    portfolio = FundSlugRelatedField(slug_field="code", queryset=Portfolio.objects.active())
    strategy = serializers.CharField(help_text="Strategy code within the portfolio.")
    instrument = serializers.SlugRelatedField(
        slug_field="ticker", queryset=Instrument.objects.active()
    )
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = _quantity()
    limit_price = _price(required=False)
    limit_rate = _rate(required=False)
    rationale = FreeTextSerializerField(allow_blank=True)
    conviction = serializers.ChoiceField(choices=Conviction.choices, default=Conviction.MEDIUM)
    business_date = serializers.DateField(required=False, help_text="Default: today's session.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Strategy codes repeat across portfolios: look the code up in the chosen one.
        code, portfolio = attrs["strategy"], attrs["portfolio"]
        strategy = Strategy.objects.filter(active=True, portfolio=portfolio, code=code).first()
        if strategy is None:
            raise ValidationError({"strategy": f"{portfolio} has no active strategy {code!r}."})
        return {**attrs, "strategy": strategy}

    def terms(self) -> services.Terms:
        data = self.validated_data
        return services.Terms(
            data["side"], data["quantity"], data.get("limit_price"), data.get("limit_rate")
        )


class ApproveSerializer(serializers.Serializer):
    note = FreeTextSerializerField(allow_blank=True, required=False, default="")
    override_note = FreeTextSerializerField(
        allow_blank=True,
        required=False,
        default="",
        help_text="Required when the what-if breaches a hard limit.",
    )


class RejectSerializer(serializers.Serializer):
    # Optional here so that the service's own message ("Say why …") answers a missing note.
    note = FreeTextSerializerField(allow_blank=True, required=False, default="")


class ModifySerializer(ApproveSerializer):
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = _quantity()
    limit_price = _price(required=False)
    limit_rate = _rate(required=False)

    def terms(self) -> services.Terms:
        data = self.validated_data
        return services.Terms(
            data["side"], data["quantity"], data.get("limit_price"), data.get("limit_rate")
        )


class ExecuteSerializer(serializers.Serializer):
    quantity = _quantity(help_text="Up to the approved quantity.")
    price = _price(required=False)
    rate = _rate(required=False, help_text="For rate-quoted instruments, instead of the PU.")
    trade_date = serializers.DateField()
    fees = serializers.DecimalField(max_digits=20, decimal_places=2, required=False)
    broker = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    confirm_warnings = serializers.BooleanField(
        required=False, default=False, help_text="Book despite the pre-trade check's warnings."
    )


class ProposalViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ProposalSerializer
    permission_classes = [AnyRole]

    def get_queryset(self) -> QuerySet[Proposal]:
        rows = (
            Proposal.objects.visible_to(self.request.user)
            .select_related("portfolio", "strategy", "instrument", "proposed_by", "decided_by")
            .prefetch_related("executions")
        )
        if self.action != "list":
            return rows
        params = self.request.query_params
        if code := params.get("portfolio"):
            rows = rows.filter(portfolio=portfolio_or_404(self.request.user, code=code))
        if wanted := params.get("status"):
            if wanted.upper() not in ProposalStatus.values:
                raise ValidationError(
                    {"status": f"{wanted!r} is not one of {', '.join(ProposalStatus.values)}."}
                )
            rows = rows.filter(status=wanted.upper())
        return rows.order_by("-business_date", "-created_at")

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", str, description="Portfolio code."),
            OpenApiParameter("status", str, enum=ProposalStatus.values),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ProposalInputSerializer, responses={201: ProposalSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose a trade (manager or approver); it waits for a second pair of eyes."""
        form = ProposalInputSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        proposal = services.create_proposal(
            portfolio=data["portfolio"],
            strategy=data["strategy"],
            instrument=data["instrument"],
            terms=form.terms(),
            rationale=data["rationale"],
            business_date=data.get("business_date") or default_business_date(),
            conviction=data["conviction"],
            by=actor(request),
        )
        return Response(self._out(proposal), status=status.HTTP_201_CREATED)

    def _out(self, proposal: Proposal) -> Any:
        return ProposalSerializer(self.get_queryset().get(pk=proposal.pk)).data

    @extend_schema(request=ApproveSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve as proposed (four eyes; a hard-limit breach needs `override_note`)."""
        proposal = self.get_object()
        form = ApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.approve_proposal(proposal, by=actor(request), **form.validated_data)
        return Response(self._out(proposal))

    @extend_schema(request=RejectSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject; `note` is mandatory (400 with `{"note": [...]}` without it)."""
        proposal = self.get_object()
        form = RejectSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.reject_proposal(proposal, by=actor(request), note=form.validated_data["note"])
        return Response(self._out(proposal))

    @extend_schema(request=ModifySerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"])
    def modify(self, request: Request, pk: str | None = None) -> Response:
        """Approve with changed terms; `note` is mandatory and the original terms are kept."""
        proposal = self.get_object()
        form = ModifySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.modify_and_approve(
            proposal,
            by=actor(request),
            terms=form.terms(),
            note=form.validated_data["note"],
            override_note=form.validated_data["override_note"],
        )
        return Response(self._out(proposal))

    @extend_schema(request=ExecuteSerializer, responses={201: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """Record the fill of an approved proposal as a trade (manager or back office)."""
        proposal = self.get_object()
        form = ExecuteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        trade = services.execute_proposal(
            proposal,
            by=actor(request),
            quantity=data["quantity"],
            trade_date=data["trade_date"],
            price=data.get("price"),
            rate=data.get("rate"),
            fees=data.get("fees") or Decimal("0"),
            broker=data["broker"],
            confirm_warnings=data["confirm_warnings"],
        )
        return Response(ExecutionSerializer(trade).data, status=status.HTTP_201_CREATED)


# --- what-if (at /api/risk/what-if/, as before: risk measures, the proposal keeps it) --------


class WhatIfInputSerializer(serializers.Serializer):
    proposal = FundPrimaryKeyRelatedField(queryset=Proposal.objects.all())
    date = serializers.DateField(required=False, help_text="Default: the fund's last NAV date.")

    def validate_proposal(self, proposal: Proposal) -> Proposal:
        # A decided proposal keeps the what-if it was decided on (the approval's evidence).
        if proposal.status != ProposalStatus.PENDING:
            raise ValidationError(
                f"Proposal #{proposal.pk} is {proposal.get_status_display().lower()}: "
                "its what-if is kept as it was decided."
            )
        return proposal


class RiskSummarySerializer(serializers.Serializer):
    var99 = serializers.FloatField()
    es975 = serializers.FloatField()
    gross_pct = serializers.FloatField()
    net_pct = serializers.FloatField()
    dv01_total = serializers.FloatField()
    dv01_ladder = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    worst_stress = serializers.DictField(allow_null=True)
    limits = LimitCheckSerializer(many=True)


class WhatIfSerializer(serializers.Serializer):
    asof = serializers.DateField()
    before = RiskSummarySerializer()
    after = RiskSummarySerializer()
    hard_breaches = serializers.ListField(child=serializers.CharField())
    computed_at = serializers.DateTimeField()


class WhatIfViewSet(viewsets.ViewSet):
    permission_classes = [RunnersWrite]

    @extend_schema(request=WhatIfInputSerializer, responses=WhatIfSerializer)
    def create(self, request: Request) -> Response:
        """Risk before and after a pending proposal (stored on it, as the blotter shows it)."""
        form = WhatIfInputSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        result = services.measure_what_if(data["proposal"], day=data.get("date"))
        return Response(result)


def register(router: BaseRouter) -> None:
    router.register("proposals", ProposalViewSet, basename="proposal")
    router.register("risk/what-if", WhatIfViewSet, basename="risk-what-if")
