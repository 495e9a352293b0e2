"""The data versions (`DataVersion`), read once per request.

A cached page's key, the frame's failed-run banner and the session's role names all depend on
the versions; reading them once per request, in one query, serves all three. Plain SQL on
core's own table: on a cached hit this is the page's only query besides the session and the
user, and compiling the ORM version costs more than running it."""

from __future__ import annotations

from django.db import connections, router
from django.http import HttpRequest

from apps.core.models import DataVersion

_ATTRIBUTE = "_pms_data_versions"
_SQL = f"SELECT scope, version FROM {DataVersion._meta.db_table}"  # no input


def request_versions(request: HttpRequest) -> dict[str, int]:
    """Every scope's version (`market`, `pipelines`, `portfolio:<id>`, `user:<id>`), once per
    request."""
    found: dict[str, int] | None = getattr(request, _ATTRIBUTE, None)
    if found is None:
        found = all_versions()
        setattr(request, _ATTRIBUTE, found)
    return found


def all_versions() -> dict[str, int]:
    with connections[router.db_for_read(DataVersion)].cursor() as cursor:
        cursor.execute(_SQL)
        return dict(cursor.fetchall())
