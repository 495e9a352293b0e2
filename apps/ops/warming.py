"""The write-through refresh, off the request path: what the refresh task and its sweep run.

A write asks for its scope's refresh in its own transaction (`apps.core.cache.schedule_refresh`:
a `RefreshRequest` row) and publishes `cache.refresh_read_models` after commit. The task claims
the row (deletes it), recomputes the fund's intraday risk when the risk now is stale (a trade,
an intraday price: `apps.risk.intraday.refresh_if_stale`) and rebuilds the read models of the
scope: one portfolio, or every active one after a market write. A row whose task never ran
(the broker was down when the write committed, the worker died) is picked up by the beat
sweep a minute or so later.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from apps.core.cache import warm, without_refresh
from apps.core.models import RefreshRequest
from apps.positions.models import Portfolio
from apps.risk.intraday import refresh_if_stale

log = logging.getLogger("apps.core.cache")

MARKET = "market"
# A request younger than this is left to its own task (published on commit, normally done in
# milliseconds): the sweep is for the ones whose task never ran.
SWEEP_GRACE = timedelta(seconds=30)


def claim(scope: str) -> bool:
    """Take the scope's pending request; False when another task or the sweep already did.

    Deleting first (autocommit) is what makes coalescing safe: a write that found the row
    pending holds it until its commit, so the delete waits for that commit, and the rebuild
    below reads its versions; a write after the delete creates a new request and task."""
    deleted, _ = RefreshRequest.objects.filter(scope=scope).delete()
    return deleted > 0


def refresh_scope(scope: str, *, eager: bool = False) -> list[str]:
    """Claim and rebuild the read models of `scope`; the codes of the portfolios warmed.

    `eager`: the task runs inside the writer's process, in its request (no broker, the
    embedded default). A portfolio's own refresh runs there; a market write's does not, since
    it would rebuild every other portfolio's read models in that request: each one's next
    read rebuilds its own (a miss, never a stale value)."""
    if not claim(scope):
        return []
    if scope == MARKET and eager:
        log.info("market refresh skipped: no worker (eager tasks); each fund's next read rebuilds")
        return []
    portfolios = Portfolio.objects.active()
    if scope != MARKET:
        portfolios = portfolios.filter(pk=int(scope.removeprefix("portfolio:")))
    warmed = []
    for portfolio in portfolios:
        try:
            with without_refresh():  # its own write needs no refresh: the warm below is it
                refresh_if_stale(portfolio)  # the risk now, after a trade or an intraday price
            warm(portfolio)
        except Exception:  # a refresh is an optimisation; the next read recomputes
            log.exception("write-through refresh of %s failed", portfolio)
        else:
            warmed.append(portfolio.code)
    return warmed


def sweep(*, grace: timedelta = SWEEP_GRACE) -> list[str]:
    """Run the refresh requests whose task never ran (older than `grace`); their scopes."""
    cutoff = timezone.now() - grace
    stale = RefreshRequest.objects.filter(requested_at__lt=cutoff).order_by("requested_at")
    scopes = list(stale.values_list("scope", flat=True))
    for scope in scopes:
        log.warning("refresh of %s was never run by its task: the sweep runs it", scope)
        refresh_scope(scope)
    return scopes
