"""The re-mark after late prices: what the `marks.remark` task and its sweep run.

A `RemarkRequest` (queued by `apps.positions.remarks` in the price's own transaction) names a
fund and the first day to re-mark. The run re-marks every marked day from there
(`recompute_from`), then recomputes what the EOD computed on the last of them (attribution,
risk, compliance, where it had run), all in one transaction: a failure leaves the marks and
the request as they were, with the error and the attempt counted, for the next sweep.
Earlier days' stored risk and compliance are not recomputed: their pages say they are stale
(`apps.core.staleness`) and offer a recompute.

The request is deleted only if no price arrived meanwhile (its `generation` unchanged);
otherwise the run goes round again from the earliest day asked for.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from apps.core.cache import warm, without_refresh
from apps.positions.models import Portfolio, RemarkRequest
from apps.positions.mtm import recompute_from
from apps.positions.remarks import stale_navs

log = logging.getLogger(__name__)

# A request younger than this is left to its own task (published on commit): the sweep is
# for the ones whose task never ran (the broker was down, the worker died).
SWEEP_GRACE = timedelta(seconds=30)
ROUNDS = 5  # prices arriving faster than a re-mark runs: the next sweep carries on


def run_remark(portfolio_id: int, *, warm_after: bool = False) -> list[date]:
    """Re-mark the fund as its request asks, round after round while prices keep arriving;
    the days re-marked (nothing when no request is pending). Its writes bump the fund's data
    versions but schedule no refresh (a pending re-mark would refresh mid-way); a worker
    (`warm_after`) then rebuilds the fund's read models once, the eager path leaves them to
    the next read."""
    with without_refresh():
        done = _run(portfolio_id)
    if done and warm_after:
        warm(Portfolio.objects.get(pk=portfolio_id))
    return done


def _run(portfolio_id: int) -> list[date]:
    done: list[date] = []
    for _ in range(ROUNDS):
        request = RemarkRequest.objects.filter(portfolio_id=portfolio_id).first()
        if request is None:
            return done
        try:
            days, finished = _round(request)
        except Exception as error:
            RemarkRequest.objects.filter(pk=request.pk).update(
                attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
            )
            log.exception("re-mark of fund %s from %s failed", portfolio_id, request.from_day)
            raise
        done += days
        if finished:
            return done
    return done


@transaction.atomic
def _round(request: RemarkRequest) -> tuple[list[date], bool]:
    # One re-mark of a fund at a time (the task and the sweep may both pick it up).
    portfolio = Portfolio.objects.select_for_update().get(pk=request.portfolio_id)
    results = recompute_from(portfolio, request.from_day)
    days = [result.day for result in results]
    if days:
        _recompute_last_day(portfolio, days[-1])
    finished, _ = RemarkRequest.objects.filter(
        pk=request.pk, generation=request.generation
    ).delete()
    log.info("re-marked %s: %d day(s) from %s", portfolio, len(days), request.from_day)
    return days, bool(finished)


def _recompute_last_day(portfolio: Portfolio, day: date) -> None:
    """What the EOD computed from the marks of `day`, computed again where it had run."""
    from apps.attribution.models import PerformanceSnapshot
    from apps.attribution.services import run_attribution
    from apps.compliance.models import RuleCheck
    from apps.compliance.services import run_compliance
    from apps.risk.models import RiskSnapshot
    from apps.risk.services import run_risk

    if PerformanceSnapshot.objects.filter(portfolio=portfolio, date=day).exists():
        run_attribution(portfolio, day)
    if RiskSnapshot.objects.filter(portfolio=portfolio, date=day).exists():
        run_risk(portfolio, day)
    if RuleCheck.objects.filter(portfolio=portfolio, date=day).exists():
        run_compliance(portfolio, day)


def sweep(*, grace: timedelta = SWEEP_GRACE) -> list[int]:
    """Run the re-marks whose task never ran (older than `grace`); their funds."""
    cutoff = timezone.now() - grace
    waiting = RemarkRequest.objects.filter(requested_at__lt=cutoff).order_by("requested_at")
    funds = list(waiting.values_list("portfolio_id", flat=True))
    for portfolio_id in funds:
        log.warning("re-mark of fund %s was never run by its task: the sweep runs it", portfolio_id)
        try:
            run_remark(portfolio_id, warm_after=True)
        except Exception:  # counted on the request; the other funds go on
            continue
    return funds


def stale_marks() -> list[tuple[str, date, int]]:
    """Funds whose marks are older than their prices (`apps.positions.remarks.stale_navs`):
    (code, first such day, days)."""
    rows = (
        stale_navs()
        .values("portfolio__code")
        .annotate(first=Min("date"), days=Count("pk"))
        .order_by("portfolio__code")
    )
    return [(row["portfolio__code"], row["first"], row["days"]) for row in rows]
