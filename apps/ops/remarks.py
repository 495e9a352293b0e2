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
from apps.ops.warming import SWEEP_GRACE  # a request's own task comes first, as there
from apps.positions.models import Portfolio, RemarkRequest
from apps.positions.mtm import recompute_from
from apps.positions.remarks import stale_navs

log = logging.getLogger(__name__)

ROUNDS = 5  # prices arriving faster than a re-mark runs: the next sweep carries on
BACKOFF, MAX_BACKOFF = timedelta(minutes=1), timedelta(hours=1)  # after a failed attempt


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
        try:
            days, finished = _round(portfolio_id)
        except Exception as error:
            RemarkRequest.objects.filter(portfolio_id=portfolio_id).update(
                attempts=F("attempts") + 1,
                tried_at=timezone.now(),
                last_error=f"{type(error).__name__}: {error}"[:2000],
            )
            log.exception("re-mark of fund %s failed", portfolio_id)
            raise
        done += days
        if finished:
            return done
    return done


@transaction.atomic
def _round(portfolio_id: int) -> tuple[list[date], bool]:
    """One pass: the request as it stands once this fund's re-marks are serialised (a second
    runner, the task or the sweep, that waited here finds it gone and does nothing)."""
    # One re-mark of a fund at a time. FOR NO KEY UPDATE: trades, marks and journal entries
    # of the fund (rows that reference it) can still be written meanwhile.
    Portfolio.objects.select_for_update(no_key=True).filter(pk=portfolio_id).first()
    request = RemarkRequest.objects.filter(portfolio_id=portfolio_id).first()
    if request is None:
        return [], True
    portfolio = request.portfolio
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
    """Run the re-marks whose task never ran (older than `grace`), and those that failed once
    their back-off has passed (a minute doubled per attempt, at most an hour: a missing
    fixing is not retried every minute); their funds."""
    now = timezone.now()
    waiting = RemarkRequest.objects.filter(requested_at__lt=now - grace).order_by("requested_at")
    due = [
        r.portfolio_id
        for r in waiting
        if r.tried_at is None
        or now - r.tried_at >= min(BACKOFF * 2 ** (r.attempts - 1), MAX_BACKOFF)
    ]
    for portfolio_id in due:
        log.warning("re-mark of fund %s is overdue: the sweep runs it", portfolio_id)
        try:
            run_remark(portfolio_id, warm_after=True)
        except Exception:  # counted on the request; the other funds go on
            continue
    return due


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
