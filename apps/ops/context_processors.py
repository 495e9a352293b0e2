"""The failed-pipeline banner every page's shell shows to ops and managers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.core.roles import Role, has_role
from apps.ops.models import PipelineRun

BANNER_ROLES = (Role.OPS, Role.MANAGER)


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
    # Lazy: one query, only when base.html renders the banner (not for htmx fragments).
    return {"pipeline_failures": SimpleLazyObject(unresolved_failures)}


def unresolved_failures() -> list[FailedRun]:
    """Failed runs no later success of the same pipeline and fund has superseded (what
    `pipelines.latest_failures` returns, in one query), newest first."""
    with connection.cursor() as cursor:
        cursor.execute(_FAILURES_SQL, [PipelineRun.Status.FAILED, PipelineRun.Status.SUCCESS])
        rows = cursor.fetchall()
    # SQLite hands dates back as text (no ORM converters on a raw cursor).
    return [FailedRun(pk, name, _day(day), code, error) for pk, name, day, code, error in rows]


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


# Plain SQL: it runs on every page a manager or ops opens, and compiling the ORM version (a
# correlated NOT EXISTS and a join) costs ten times what running it does.
_FAILURES_SQL = """
SELECT r.id, r.pipeline, r.business_date, p.code, r.error
FROM ops_pipelinerun r JOIN positions_portfolio p ON p.id = r.portfolio_id
WHERE r.status = %s AND NOT EXISTS (
    SELECT 1 FROM ops_pipelinerun s
    WHERE s.pipeline = r.pipeline AND s.portfolio_id = r.portfolio_id
      AND s.status = %s AND s.business_date >= r.business_date
)
ORDER BY r.business_date DESC, r.pipeline, p.code
"""
