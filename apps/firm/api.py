"""`GET /api/firm/`: the firm view's numbers (the page's read model) for the funds the caller
may see. Amounts are floats in BRL; `*_of_nav` and `*_share` are fractions (0.0123 = 1.23 %)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.permissions import RolePermission
from apps.firm.queries import build_firm
from apps.firm.views import firm_funds, parse_day


class FirmViewSet(viewsets.ViewSet):
    permission_classes = [RolePermission]  # every role reads; nothing to write

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, description="Default: the latest marked day."
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        """Per-fund rows, firm totals, exposures by asset class, the DV01 ladder by fund, and
        the consolidated (diversified) VaR/ES beside the sum of the standalone ones."""
        day, error = parse_day(request.query_params.get("date", ""))
        if error:
            raise ValidationError({"date": [error.split(";")[0] + "."]})
        return Response(_jsonable(build_firm(firm_funds(request.user), day)))


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    out = dict(view)
    out["as_of"] = view["as_of"].isoformat() if view["as_of"] else None
    out["left_out"] = [
        {**row, "latest": row["latest"].isoformat() if row["latest"] else None}
        for row in view["left_out"]
    ]
    return out


def register(router: BaseRouter) -> None:
    router.register("firm", FirmViewSet, basename="firm")
