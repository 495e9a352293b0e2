"""Risk during the trading day, and whether the risk a page shows is still true.

The risk page's latest view shows the fund's risk *now*: the intraday snapshot (`IntradayRisk`:
the current book, today's trades included, at today's intraday prices and the last close
elsewhere, by `apps.positions.intraday`) when one exists for today, else the latest EOD
snapshot. Either says when it is stale (`apps.core.staleness`): the book changed since, a price
of a day it covers was written, or intraday prices were entered. After a trade or an intraday
price, the write-through refresh (`apps.ops.warming`) recomputes the intraday snapshot
(`refresh_if_stale`); the page offers the same as a button (`recompute_current`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from apps.core.staleness import Basis, Staleness, basis_now, staleness
from apps.marketdata.calendar import is_business_day, previous_business_day
from apps.marketdata.models import FixingIndex
from apps.marketdata.queries import latest_fixing
from apps.positions.intraday import Estimate, estimate, intraday_counts
from apps.positions.models import Portfolio
from apps.positions.mtm import last_mark_date
from apps.risk.engine import RiskReport, analyse
from apps.risk.models import IntradayRisk, RiskSnapshot
from apps.risk.services import check_limits, reusable, risk_positions, run_risk

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Shown = RiskSnapshot | IntradayRisk


def intraday_report(portfolio: Portfolio, result: Estimate) -> RiskReport:
    """The full risk report (VaR, ES, stress, exposures, DV01) of an intraday estimate, on the
    factor history of the close it starts from; the revaluations of positions unchanged since
    the fund's last intraday run are reused (`risk.services.reusable`)."""
    assert result.base_day is not None
    marks = [m for m in result.marks if m.quantity != 0]
    # Today's PTAX and VNA may not be published yet: the latest ones.
    ptax = latest_fixing(FixingIndex.PTAX_SELL, result.day)
    vna = latest_fixing(FixingIndex.VNA_NTNB, result.day)
    kept = reusable(portfolio, result.base_day, asof=result.day, name="intraday")
    positions = risk_positions(marks, result.day, vna=vna.value if vna else None)
    report = analyse(
        positions,
        kept.history,
        nav=result.nav,
        asof=result.day,
        ptax=ptax.value if ptax else None,
        scenarios=kept.scenarios,
        warnings=list(result.warnings),
        memo=kept.memo,
    )
    kept.keep(positions)
    return report


def run_intraday_risk(portfolio: Portfolio) -> IntradayRisk | None:
    """Compute and keep the fund's intraday risk now; None (and any old one dropped) when
    there is nothing to estimate (not a trading day, or today's EOD has run). Computed outside
    a transaction (so the revaluations are kept for the next run), written in one."""
    clock = time.perf_counter()
    basis = basis_now(portfolio.pk)  # before the inputs: a write after shows as newer
    result = estimate(portfolio)
    if result.status != "ok" or result.base_day is None:
        IntradayRisk.objects.filter(portfolio=portfolio).delete()
        return None
    report = intraday_report(portfolio, result)
    payload = {**report.as_dict(), "limits": check_limits(portfolio, report)}
    quotes = [
        {"ticker": row.ticker, "at": row.quoted_at.isoformat() if row.quoted_at else None}
        for row in result.intraday_quotes
    ]
    with transaction.atomic():
        snapshot, _ = IntradayRisk.objects.update_or_create(
            portfolio=portfolio,
            defaults={
                "date": result.day,
                "base_date": result.base_day,
                "report": payload,
                "quotes": quotes,
                "basis": basis.as_dict(),
                "seconds": round(time.perf_counter() - clock, 3),
            },
        )
    return snapshot


@dataclass(frozen=True)
class LatestView:
    """What the latest view shows, and whether the risk now can be recomputed (a trading day
    one step after the fund's last close)."""

    snapshot: Shown | None
    live: bool


def latest_view(portfolio: Portfolio) -> LatestView:
    """Today's intraday snapshot if newer than the last EOD one (and not superseded by a later
    close), else the last EOD snapshot."""
    latest = RiskSnapshot.objects.filter(portfolio=portfolio).order_by("-date").first()
    intraday = IntradayRisk.objects.filter(portfolio=portfolio).first()
    closed = last_mark_date(portfolio)
    today = timezone.localdate()
    live = is_business_day(today) and closed is not None and closed == previous_business_day(today)
    if (
        intraday is not None
        and (latest is None or intraday.date > latest.date)
        and (closed is None or intraday.base_date >= closed)  # a later close supersedes it
    ):
        return LatestView(intraday, live)
    return LatestView(latest, live)


def current(portfolio: Portfolio) -> Shown | None:
    return latest_view(portfolio).snapshot


def freshness(snapshot: Shown, *, latest: bool, live: bool | None = None) -> Staleness:
    """What changed after `snapshot`. The latest view stands for the risk *now*: when it can
    be recomputed (`live`), today's trades and intraday prices count; a dated view stands for
    its day's close: only changes up to that day."""
    basis = Basis.of(snapshot.basis)
    if isinstance(snapshot, IntradayRisk):
        return staleness(snapshot.portfolio_id, basis, through=None, intraday=True)
    day: date = snapshot.date
    if live is None:
        live = intraday_counts(snapshot.portfolio)
    if latest and live:
        return staleness(snapshot.portfolio_id, basis, through=day, intraday=True)
    return staleness(snapshot.portfolio_id, basis, through=day, book_through=day)


def refresh_if_stale(portfolio: Portfolio) -> bool:
    """After a write (the refresh task): recompute the intraday snapshot when the risk now is
    stale and the day is a trading day after the last close. True when it ran."""
    if not intraday_counts(portfolio):
        return False
    shown = current(portfolio)
    if shown is not None and not freshness(shown, latest=True).stale:
        return False
    return run_intraday_risk(portfolio) is not None


def recompute_current(portfolio: Portfolio, *, by: User | None = None) -> str:
    """The page's "recompute": the EOD snapshot again if a price of its day moved, then the
    intraday snapshot on a trading day after the close. What was done, for the message."""
    done = []
    latest = RiskSnapshot.objects.filter(portfolio=portfolio).order_by("-date").first()
    if latest is not None and freshness(latest, latest=False).stale:
        run_risk(portfolio, latest.date, by=by)
        done.append(f"the close of {latest.date:%d/%m/%Y} recomputed")
    if intraday_counts(portfolio):
        live = run_intraday_risk(portfolio)
        if live is not None:
            done.append(
                f"intraday risk computed at {timezone.localtime(live.computed_at):%H:%M:%S}"
            )
    return "; ".join(done) or "nothing to recompute: the risk shown is current"


def describe(snapshot: Shown | None, *, latest: bool, live: bool | None = None) -> dict[str, Any]:
    """The page's and the API's freshness fields of `snapshot`."""
    if snapshot is None:
        return {"kind": None, "computed_at": None, "stale": False, "stale_reason": ""}
    state = freshness(snapshot, latest=latest, live=live)
    return {
        "kind": "intraday" if isinstance(snapshot, IntradayRisk) else "eod",
        "computed_at": snapshot.computed_at,
        **state.as_dict(),
    }
