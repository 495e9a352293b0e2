"""The failed-pipeline banner every page's frame shows to ops and managers (their funds' runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import CharField, F, IntegerField, Value
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.core.cache import MISSING, cache_get, cache_set
from apps.core.roles import Role, has_role
from apps.core.versions import all_versions, request_versions
from apps.ops.models import PipelineRun
from apps.ops.pipelines import unresolved_failed_runs
from apps.ops.stages import unresolved_failed_canvases
from apps.positions.access import ALL, fund_ids

BANNER_ROLES = (Role.OPS, Role.MANAGER)
MARKET_STEP = "every fund (market step)"  # a canvas whose market step failed: no fund ran
SAFETY_TTL = 300  # seconds; the versions in the key invalidate, this is a safety net


@dataclass(frozen=True)
class FailedRun:
    """A failed pipeline run that no later success has superseded."""

    pk: int
    pipeline: str
    business_date: date
    portfolio_code: str
    error: str
    anchor: str = ""  # its row on the pipelines page: run-<pk>, or canvas-<pk> (market step)
    portfolio_id: int | None = None  # None: a canvas's market step (every fund)

    @property
    def pipeline_label(self) -> str:
        return str(PipelineRun.Pipeline(self.pipeline).label)


def pipeline_banner(request: HttpRequest) -> dict[str, Any]:
    """For ops and managers, the failed-pipeline banner base.html shows."""
    user = getattr(request, "user", None)
    if user is None or not has_role(user, *BANNER_ROLES):
        return {}
    # Lazy: only when base.html renders the banner (not for htmx fragments).
    return {"pipeline_failures": SimpleLazyObject(lambda: cached_failures(request))}


def cached_failures(request: HttpRequest) -> list[FailedRun]:
    """The banner's runs of the funds the user may see (and failed market steps, which name no
    fund), cached for everyone under the `pipelines` version (a run's save bumps it) and the
    market's (they show the funds' codes): on a cached page they cost no query of their own
    (the user's funds travel in their session)."""
    key = _banner_key(request_versions(request))
    failures = cache_get(key)
    if failures is MISSING:
        failures = tuple(unresolved_failures())
        cache_set(key, failures, SAFETY_TTL)
    funds = fund_ids(request.user)
    return [f for f in failures if funds == ALL or f.portfolio_id in (None, *funds)]


def warm_banner() -> bool:
    """The banner's runs into the cache under the current versions (the pipelines' firm step,
    after a canvas moved them); False when they were there already."""
    key = _banner_key(all_versions())
    if cache_get(key) is not MISSING:
        return False
    cache_set(key, tuple(unresolved_failures()), SAFETY_TTL)
    return True


def _banner_key(versions: dict[str, int]) -> str:
    return f"rm:failures:m{versions.get('market', 0)}:q{versions.get('pipelines', 0)}"


def unresolved_failures() -> list[FailedRun]:
    """Failed runs no later success of the same pipeline and fund has superseded, and the
    canvases whose market step failed (no fund ran that day), newest first; one query."""
    columns = ("pk", "pipeline", "business_date", "code", "error", "kind", "fund")
    canvases = unresolved_failed_canvases().annotate(
        code=Value(MARKET_STEP, output_field=CharField()),
        kind=Value("canvas"),
        fund=Value(None, output_field=IntegerField()),
    )
    runs = unresolved_failed_runs().annotate(
        code=F("portfolio__code"), kind=Value("run"), fund=F("portfolio_id")
    )
    rows = (
        canvases.order_by()
        .values_list(*columns)
        .union(runs.order_by().values_list(*columns), all=True)
        .order_by("-business_date", "kind", "pipeline", "code")
    )
    return [
        FailedRun(pk, p, d, code, e, f"{kind}-{pk}", fund) for pk, p, d, code, e, kind, fund in rows
    ]
