"""Late prices re-mark: the queue of funds to re-mark from a day, fed by market data's change
note (`apps.core.staleness.prices_changed`) inside the price's own transaction.

A price or fixing written for a day some fund has already marked moves that fund's marks from
that day on. The fund gets a `RemarkRequest` in the same transaction (one per fund, the
earliest day kept) and, after commit, its task (`marks.remark`, run by `apps.ops.remarks`).
With the broker down the request waits in the database for the sweep.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.db.models.functions import Least
from django.utils import timezone

from apps.core.cache import publish_task
from apps.core.models import Change
from apps.core.staleness import PRICES, prices_changed
from apps.positions.models import DailyMark, NavRecord, RemarkRequest

REMARK_TASK = "marks.remark"  # apps.ops.tasks; looked up by name, not imported


def affected(changes: Mapping[date, Collection[int] | None]) -> dict[int, date]:
    """Funds already marked on a changed day (holding a changed instrument then or later, or
    any fund for a fixing): the first day each must be re-marked from. Two queries at most,
    however many days an import covers."""
    first: dict[int, date] = {}

    def touch(portfolio_id: int, day: date) -> None:
        if portfolio_id not in first or day < first[portfolio_id]:
            first[portfolio_id] = day

    fixings = sorted(day for day, ids in changes.items() if ids is None)
    if fixings:
        last_marked = NavRecord.objects.filter(date__gte=fixings[0]).values("portfolio_id")
        for row in last_marked.annotate(last=Max("date")):
            for day in fixings:
                if row["last"] >= day:
                    touch(row["portfolio_id"], day)
                    break
    priced = {day: set(ids) for day, ids in changes.items() if ids is not None}
    if priced:
        instruments = set().union(*priced.values())
        held = (
            DailyMark.objects.filter(date__gte=min(priced), position__instrument_id__in=instruments)
            .values("portfolio_id", "position__instrument_id")
            .annotate(last=Max("date"))
        )
        for row in held:
            for day in sorted(priced):
                if row["position__instrument_id"] in priced[day] and row["last"] >= day:
                    touch(row["portfolio_id"], day)
                    break
    return first


def queue_remark(portfolio_id: int, day: date, reason: str) -> None:
    """Ask (in the writing transaction) for `portfolio_id` to be re-marked from `day`."""
    pending = RemarkRequest.objects.filter(portfolio_id=portfolio_id)
    for _ in range(3):  # a concurrent first request may win the insert: then join it
        if pending.update(
            from_day=Least(F("from_day"), day), generation=F("generation") + 1, reason=reason
        ):
            break
        try:
            with transaction.atomic():
                RemarkRequest.objects.create(portfolio_id=portfolio_id, from_day=day, reason=reason)
        except IntegrityError:
            continue
        break
    else:
        raise IntegrityError(f"the re-mark request of fund {portfolio_id} could not be written")
    # Published on every change (a run finding nothing pending does nothing): a request that
    # failed before runs again as soon as the data that may fix it arrive.
    transaction.on_commit(partial(publish_remark, portfolio_id), robust=True)


def publish_remark(portfolio_id: int) -> None:
    publish_task(REMARK_TASK, (portfolio_id,), what=f"re-mark of fund {portfolio_id}")


def queue_remarks(
    sender: Any,
    changes: Mapping[date, Any],
    reason: str,
    version: int,
    moves_marks: bool = True,
    **kwargs: Any,
) -> None:
    """Queue the funds the change moves; the marks of every other fund (no re-mark pending)
    stay as true as they were: they are counted as computed on this version too."""
    first = affected(changes) if moves_marks else {}
    for portfolio_id, day in first.items():
        queue_remark(portfolio_id, day, reason[:300])
    pending = RemarkRequest.objects.values_list("portfolio_id", flat=True)
    NavRecord.objects.filter(date__gte=min(changes), prices_version__lt=version).exclude(
        portfolio_id__in=set(first) | set(pending)
    ).update(prices_version=version)


def stale_navs(portfolio_id: int | None = None) -> QuerySet[NavRecord]:
    """The marked days older than their prices: a price or fixing moving that day's marks was
    written (its change note's version) after the marks were computed (`prices_version`)."""
    newer = Change.objects.filter(
        scope=PRICES, day__lte=OuterRef("date"), version__gt=OuterRef("prices_version")
    )
    navs = NavRecord.objects.filter(Exists(newer))
    return navs if portfolio_id is None else navs.filter(portfolio_id=portfolio_id)


def marks_freshness(portfolio_id: int, through: date | None = None) -> dict[str, Any]:
    """For a page computed from the marks (the book, attribution): whether any day it reads
    (up to `through`) is older than its prices, and since when; the queued re-mark if any."""
    navs = stale_navs(portfolio_id)
    if through is not None:
        navs = navs.filter(date__lte=through)
    first = navs.order_by("date").values_list("date", flat=True).first()
    if first is None:
        return {"stale": False, "stale_reason": ""}
    changed = Change.objects.filter(scope=PRICES, day__lte=first).order_by("-version").first()
    at = f" at {timezone.localtime(changed.changed_at):%d/%m %H:%M}" if changed else ""
    return {
        "stale": True,
        "stale_reason": f"prices of {first:%d/%m/%Y} changed{at}, after its marks: the "
        "re-mark from that day is queued",
    }


def connect() -> None:
    prices_changed.connect(queue_remarks, dispatch_uid="queue_remarks")
