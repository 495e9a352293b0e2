"""Home, liveness, readiness and metrics."""

import time
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django_prometheus.exports import ExportToDjangoView

from apps.ops.navigation import items_for


def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the first page their roles open."""
    entries = items_for(request.user, request.path)
    if entries:
        return redirect(entries[0]["url"])
    return render(request, "ops/no_access.html", status=403)


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})


@login_not_required
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the cache answer (503 with details when one does not)."""
    checks: dict[str, dict[str, object]] = {}
    for name, probe in (("database", _probe_database), ("cache", _probe_cache)):
        started = time.perf_counter()
        try:
            probe()
            checks[name] = {"ok": True}
        except Exception as error:
            checks[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def _probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _probe_cache() -> None:
    cache = caches[settings.READ_MODEL_CACHE]
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, 1, 5)
    if cache.get(key) != 1:
        raise RuntimeError("the cache did not return the value written")


@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    token = settings.METRICS_TOKEN
    if token and request.headers.get("Authorization") != f"Bearer {token}":
        return HttpResponse("metrics need the bearer token\n", status=401)
    return ExportToDjangoView(request)
