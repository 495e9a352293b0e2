"""Your own API tokens over HTTP: list them, revoke one. Tokens are issued in the back office
(or by `issue_token`): a key is shown once, where the person issuing it can keep it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.tokens.models import ApiToken
from apps.tokens.services import revoke_token


class ApiTokenSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ApiToken.Status.choices, read_only=True)

    class Meta:
        model = ApiToken
        fields = (
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "status",
        )
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own tokens, newest first (never the key: only its prefix)."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # the schema's model; get_queryset scopes to the caller

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user_id=int(self.request.user.pk or 0))

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: Any = None) -> Response:
        """Revoke one of your tokens now (idempotent)."""
        token = revoke_token(self.get_object(), by=actor(request))
        return Response(ApiTokenSerializer(token).data)


def register(router: BaseRouter) -> None:
    router.register("tokens", ApiTokenViewSet, basename="tokens")
