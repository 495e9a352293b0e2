"""The data versions (`DataVersion`), read once per request.

A cached page's key and the frame's failed-run banner both depend on the versions; reading
them once per request, in one query, serves both."""

from __future__ import annotations

from django.http import HttpRequest

from apps.core.models import DataVersion

_ATTRIBUTE = "_pms_data_versions"


def request_versions(request: HttpRequest) -> dict[str, int]:
    """Every scope's version (`market`, `pipelines`, `portfolio:<id>`), once per request."""
    found: dict[str, int] | None = getattr(request, _ATTRIBUTE, None)
    if found is None:
        found = dict(DataVersion.objects.values_list("scope", "version"))
        setattr(request, _ATTRIBUTE, found)
    return found
