"""The failed-pipeline banner every page's frame shows to ops and managers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.core.cache import MISSING, cache_get, cache_set
from apps.core.roles import Role, has_role
from apps.core.versions import request_versions
from apps.ops.models import PipelineRun
from apps.ops.pipelines import unresolved_failed_runs

BANNER_ROLES = (Role.OPS, Role.MANAGER)
SAFETY_TTL = 300  # seconds; the versions in the key invalidate, this is a safety net


@dataclass(frozen=True)
class FailedRun:
    """A failed pipeline run that no later success has superseded."""

    pk: int
    pipeline: str
    business_date: date
    portfolio_code: str
    error: str

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
    """The banner's runs, cached under the `pipelines` version (a run's save bumps it) and the
    market's (they show the funds' codes): on a cached page they cost no query of their own."""
    versions = request_versions(request)
    key = f"rm:failures:m{versions.get('market', 0)}:q{versions.get('pipelines', 0)}"
    failures = cache_get(key)
    if failures is MISSING:
        failures = tuple(unresolved_failures())
        cache_set(key, failures, SAFETY_TTL)
    return list(failures)


def unresolved_failures() -> list[FailedRun]:
    """Failed runs no later success of the same pipeline and fund has superseded, newest first."""
    rows = unresolved_failed_runs().values_list(
        "pk", "pipeline", "business_date", "portfolio__code", "error"
    )
    return [FailedRun(*row) for row in rows]
