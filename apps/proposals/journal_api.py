"""The journal over HTTP: read-only entries (filtered) and notes through `add_note`.

Hosted in proposals, above the models the journal's ids name (see `journal_entries`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from apps.core.actors import actor
from apps.core.inputs import FreeTextSerializerField
from apps.core.permissions import AnyRole
from apps.journal import services
from apps.journal.models import Entry, EntryKind
from apps.positions.access import portfolio_or_404
from apps.positions.models import Portfolio, Position
from apps.positions.scoped import FundPrimaryKeyRelatedField, FundSlugRelatedField
from apps.proposals import journal_entries
from apps.proposals.models import Proposal


class EntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, read_only=True)
    portfolio = serializers.CharField(source="portfolio_code", allow_null=True, read_only=True)
    position = serializers.IntegerField(source="position_id", allow_null=True, read_only=True)
    trade = serializers.IntegerField(source="trade_id", allow_null=True, read_only=True)
    proposal = serializers.IntegerField(source="proposal_id", allow_null=True, read_only=True)
    snapshot = serializers.JSONField(read_only=True)

    class Meta:
        model = Entry
        fields = (
            "seq",
            "created_at",
            "actor",
            "kind",
            "portfolio",
            "position",
            "trade",
            "proposal",
            "on_date",
            "snapshot",
            "note",
            "prev_hash",
            "hash",
        )


class NoteSerializer(serializers.Serializer):
    note = FreeTextSerializerField(allow_blank=True)
    on_date = serializers.DateField(required=False, allow_null=True, help_text="About a day.")
    portfolio = FundSlugRelatedField(
        slug_field="code", queryset=Portfolio.objects.active(), required=False, allow_null=True
    )
    position = FundPrimaryKeyRelatedField(
        queryset=Position.objects.select_related("portfolio"), required=False, allow_null=True
    )
    proposal = FundPrimaryKeyRelatedField(
        queryset=Proposal.objects.select_related("portfolio"), required=False, allow_null=True
    )


def _int(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError({name: f"{raw!r} is not an id (a whole number)."})
    return int(raw)


class EntryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EntrySerializer
    permission_classes = [AnyRole]
    lookup_field = "seq"

    def get_queryset(self) -> QuerySet[Entry]:
        rows = journal_entries.entries(self.request.user).order_by("-seq")
        params = self.request.query_params
        if kind := params.get("kind"):
            if kind.upper() not in EntryKind.values:
                raise ValidationError({"kind": f"{kind!r} is not a journal entry kind."})
            rows = rows.filter(kind=kind.upper())
        if code := params.get("portfolio"):
            rows = rows.filter(portfolio_id=portfolio_or_404(self.request.user, code=code).pk)
        if proposal := _int(params.get("proposal"), "proposal"):
            rows = rows.filter(proposal_id=proposal)
        if position := _int(params.get("position"), "position"):
            rows = rows.filter(position_id=position)
        return rows

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=EntryKind.values),
            OpenApiParameter("portfolio", str, description="Portfolio code."),
            OpenApiParameter("proposal", int, description="Proposal id."),
            OpenApiParameter("position", int, description="Position id."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Entries, newest first."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=NoteSerializer, responses={201: EntrySerializer})
    @action(detail=False, methods=["post"])
    def notes(self, request: Request) -> Response:
        """A manager's or an approver's note about a day, a position or a proposal."""
        form = NoteSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        entry = services.add_note(by=actor(request), **form.validated_data)
        entry = journal_entries.entries(request.user).get(pk=entry.pk)  # with its portfolio code
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


def register(router: BaseRouter) -> None:
    router.register("journal", EntryViewSet, basename="journal-entry")
