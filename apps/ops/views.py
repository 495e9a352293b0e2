"""Home, liveness, readiness and metrics; the pipelines page."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from apps.core.navigation import items_for
from apps.core.roles import Role, has_role
from apps.marketdata.calendar import is_business_day
from apps.ops.context_processors import cached_failures
from apps.ops.metrics import exposition
from apps.ops.models import CanvasRun, PipelineRun, StepRun
from apps.positions.access import ALL, fund_ids, visible

log = logging.getLogger(__name__)
PIPELINE_ROLES = (Role.OPS, Role.MANAGER)
RUNS_PER_PAGE = 50
CANVASES_SHOWN = 6  # the firm's last EODs and pre-opens: about three business days


def home(request: HttpRequest) -> HttpResponse:
    """Send the user to where their work is: the back office to the admin, others to the first
    page their roles open."""
    if _works_in_the_admin(request.user):
        return redirect("admin:index")
    entries = items_for(request.user, request.path)
    if entries:
        return redirect(entries[0]["url"])
    return render(request, "core/no_access.html", status=403)


def _works_in_the_admin(user: Any) -> bool:
    """Back-office staff keep the books in the admin; one who also manages or approves does not."""
    return (
        bool(getattr(user, "is_staff", False))
        and has_role(user, Role.BACK_OFFICE)
        and not has_role(user, Role.MANAGER, Role.APPROVER)
    )


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})


@login_not_required
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the app can serve, i.e. the database answers (else 503). Redis down is
    `degraded`, still 200: every page is built from the database then. The body says which
    dependency failed and nothing else (no host, port or error text: that goes to the log)."""
    checks = {name: _check(name, probe) for name, probe in PROBES.items()}
    if not checks["database"]["ok"]:
        status, code = "unavailable", 503
    elif not all(check["ok"] for check in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)


def _check(name: str, probe: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        probe()
        ok = True
    except Exception as error:  # any failure is "not ready"; the details are for the log only
        log.warning("ready: %s unavailable (%s: %s)", name, type(error).__name__, error)
        ok = False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _probe_cache() -> None:
    cache = caches[settings.READ_MODEL_CACHE]
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, 1, 5)
    if cache.get(key) != 1:
        raise RuntimeError("the cache did not return the value written")


PROBES: dict[str, Callable[[], None]] = {"database": _probe_database, "cache": _probe_cache}


@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics of every worker (apps.ops.metrics); with METRICS_TOKEN set, only for
    `Authorization: Bearer <token>`."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "").encode()
    if token and not hmac.compare_digest(sent, f"Bearer {token}".encode()):
        return HttpResponse("metrics need the bearer token\n", status=401)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


# --- pipelines ------------------------------------------------------------------------------


def _require_pipeline_role(request: HttpRequest) -> None:
    if not has_role(request.user, *PIPELINE_ROLES):
        raise PermissionDenied("Only ops and managers open the pipelines.")


def _queued() -> bool:
    """True when a broker is configured: runs go to the workers, not this request."""
    return not settings.CELERY_TASK_ALWAYS_EAGER


def pipelines(request: HttpRequest) -> HttpResponse:
    """Pipeline runs, newest first, with their steps; re-run and run-now forms."""
    _require_pipeline_role(request)
    steps = StepRun.objects.order_by("-run_attempt", "order")
    runs = (
        visible(request.user, PipelineRun.objects.all(), field="portfolio_id")
        .select_related("portfolio")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("-started_at", "-pk")
    )
    context = {
        "canvases": _canvases_seen_by(request.user),
        "runs": Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page")),
        "failures": cached_failures(request),  # the user's funds' (and the market steps')
        "pipelines": PipelineRun.Pipeline.choices,
        "today": timezone.localdate(),
        "queued": _queued(),
    }
    return render(request, "ops/pipelines.html", context)


FIRM_DETAIL_HIDDEN = "(shown to users who see every fund)"


def _canvases_seen_by(user: Any) -> list[CanvasRun]:
    """The latest canvases. To a user who does not see every fund, each names only the failed
    funds they may see, and its steps without their detail (which may name other funds)."""
    canvases = list(CanvasRun.objects.order_by("-business_date", "pipeline")[:CANVASES_SHOWN])
    if fund_ids(user) != ALL:
        codes = set(visible(user).values_list("code", flat=True))
        for canvas in canvases:  # shown, never saved
            canvas.failed = [f for f in canvas.failed if f.get("code") in codes]
            canvas.steps = [{**step, "detail": FIRM_DETAIL_HIDDEN} for step in canvas.steps]
    return canvases


@require_POST
def pipeline_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    """Run one pipeline run again (even a successful one) for its fund and business date."""
    from apps.ops.pipelines import eod_refusal, run_pipeline
    from apps.ops.tasks import rerun_pipeline

    _require_pipeline_role(request)
    rows = visible(request.user, PipelineRun.objects.all(), field="portfolio_id")
    run = get_object_or_404(rows.select_related("portfolio"), pk=pk)
    label = f"{run.get_pipeline_display()} of {run.portfolio.code} for {run.business_date:%d/%m/%Y}"
    by = request.user.get_username()
    refusal = eod_refusal(run.business_date) if run.pipeline == PipelineRun.Pipeline.EOD else None
    if refusal:
        messages.warning(request, f"{label} not started. {refusal}")
    elif _queued():
        rerun_pipeline.delay(run.pipeline, run.portfolio_id, run.business_date.isoformat(), by)
        messages.info(request, f"{label} queued for the workers.")
    else:
        outcome = run_pipeline(
            run.pipeline,
            run.portfolio,
            run.business_date,
            force=True,
            triggered_by=by,
        )
        _report(request, label, outcome.status, outcome.run)
    return redirect(f"{reverse('ops:pipelines')}#run-{run.pk}")


@require_POST
def pipeline_run_now(request: HttpRequest) -> HttpResponse:
    """Run (or queue) the EOD or the pre-open of every active fund for a date, catching up."""
    from apps.ops.canvas import run_in_process
    from apps.ops.pipelines import eod_refusal
    from apps.ops.tasks import run_eod, run_preopen

    _require_pipeline_role(request)
    pipeline = request.POST.get("pipeline", "")
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        day = None
    if pipeline not in PipelineRun.Pipeline.values or day is None:
        messages.error(request, "Choose the EOD or the pre-open and a date (YYYY-MM-DD).")
        return redirect("ops:pipelines")
    label = f"{PipelineRun.Pipeline(pipeline).label} for {day:%d/%m/%Y}"
    refusal = eod_refusal(day) if pipeline == PipelineRun.Pipeline.EOD else None
    if refusal:  # not a failure: nothing ran, nothing to alarm anyone about
        messages.warning(request, f"{label} not started. {refusal}")
        return redirect("ops:pipelines")
    if _queued():
        (run_eod if pipeline == PipelineRun.Pipeline.EOD else run_preopen).delay(day.isoformat())
        messages.info(
            request,
            f"{label} queued for the workers: the market step, one task per fund, the firm step.",
        )
        return redirect("ops:pipelines")
    if not is_business_day(day):
        messages.info(request, f"{label}: nothing to run ({day:%d/%m/%Y} is not a business day).")
        return redirect("ops:pipelines")
    result = run_in_process(pipeline, day, triggered_by=request.user.get_username())
    for fund in result.funds:
        if not fund["runs"]:
            messages.info(request, f"{label}, {fund['code']}: nothing to run (already done).")
        for when, status in fund["runs"]:
            run = PipelineRun.objects.filter(
                pipeline=pipeline, portfolio_id=fund["portfolio"], business_date=when
            ).first()
            where = f"{label}, {fund['code']} {date.fromisoformat(when):%d/%m/%Y}"
            _report(request, where, status, run)
    _report_canvas(request, label, result.canvas)
    return redirect("ops:pipelines")


def _report_canvas(request: HttpRequest, label: str, canvas: CanvasRun) -> None:
    if canvas.status == CanvasRun.Status.FAILED:
        messages.error(request, f"{label}: no fund ran. {canvas.error}")
    elif canvas.failed:
        named = ", ".join(f["code"] for f in canvas.failed)
        messages.warning(request, f"{label}: the firm step ran without {named} (failed).")


def _report(request: HttpRequest, label: str, status: str, run: PipelineRun | None) -> None:
    if status == "failed" and run is not None:
        messages.error(request, f"{label} failed: {run.error}")
    elif status == "busy":
        messages.warning(request, f"{label}: already running elsewhere; try again later.")
    else:
        messages.success(request, f"{label}: {status}.")
