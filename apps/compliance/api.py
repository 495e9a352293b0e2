"""`GET /api/compliance/?portfolio=CODE[&date=YYYY-MM-DD]`: the compliance page's numbers for
one fund the caller may see (its first one without a code). Values and limits are fractions of
NAV (0.0123 = 1.23 %), or position counts for the forbidden and allowed kinds."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.compliance.queries import compliance_view
from apps.compliance.views import parse_day
from apps.core.permissions import RolePermission
from apps.positions.access import visible
from apps.positions.models import Portfolio


class ComplianceViewSet(viewsets.ViewSet):
    permission_classes = [RolePermission]  # every role reads; nothing to write

    @extend_schema(
        parameters=[
            OpenApiParameter("portfolio", OpenApiTypes.STR, description="Default: the first."),
            OpenApiParameter(
                "date", OpenApiTypes.DATE, description="Default: the latest checked day."
            ),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        """Each rule with the day's value, limit, use of the limit, status and history; the
        open and past breaches."""
        day, error = parse_day(request.query_params.get("date", ""))
        if error:
            raise ValidationError({"date": [error.split(";")[0] + "."]})
        funds = visible(request.user, Portfolio.objects.active()).order_by("pk")
        code = request.query_params.get("portfolio", "")
        portfolio = funds.filter(code=code).first() if code else funds.first()
        if portfolio is None:
            raise NotFound(f"No active portfolio {code!r}." if code else "No fund granted.")
        return Response(compliance_view(portfolio, day))


def register(router: BaseRouter) -> None:
    router.register("compliance", ComplianceViewSet, basename="compliance")
