"""The demo's last EOD and next pre-open, so `make run` opens on a complete morning: a risk
snapshot with limits and alerts, attribution, proposals with their what-if, a morning pack."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from apps.demo.fund.vehicles import DEMO_FUNDS, FLAGSHIP_FUND
from apps.demo.options import SeedOptions
from apps.marketdata.calendar import next_business_day
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_pipeline
from apps.positions.models import NavRecord, Portfolio, Strategy
from apps.proposals.models import SignalRule
from apps.risk.services import ensure_default_limits

# The signal rules the demo fund runs before the open: (rule, strategy code, size).
DEMO_RULES = (
    ("di1_carry", "rates-br", Decimal("200")),
    ("usdbrl_trend", "fx", Decimal("50")),
    ("ipca_breakeven", "inflation", Decimal("100")),
)


def _ensure_limits_and_rules(portfolio: Portfolio) -> None:
    """The default portfolio limits and, for the flagship, the demo's signal rules (only the
    missing ones)."""
    ensure_default_limits(portfolio)
    if portfolio.code != FLAGSHIP_FUND.code:
        return
    strategies = {s.code: s for s in Strategy.objects.filter(portfolio=portfolio)}
    for name, code, size in DEMO_RULES:
        if code in strategies:
            SignalRule.objects.get_or_create(
                portfolio=portfolio,
                name=name,
                defaults={"strategy": strategies[code], "size": size},
            )


def _record_marked_days(portfolio: Portfolio, before: date) -> int:
    """The seed marks the demo's history with `run_mtm` directly; record those days as EOD
    runs too, so the pipeline history matches the marks and a re-run of the last day (or its
    failure) catches up from the day before, not from inception."""
    marked = set(
        NavRecord.objects.filter(portfolio=portfolio, date__lt=before).values_list(
            "date", flat=True
        )
    )
    marked -= set(
        PipelineRun.objects.filter(
            pipeline=PipelineRun.Pipeline.EOD, portfolio=portfolio, business_date__in=marked
        ).values_list("business_date", flat=True)
    )
    now = timezone.now()
    PipelineRun.objects.bulk_create(
        PipelineRun(
            pipeline=PipelineRun.Pipeline.EOD,
            business_date=day,
            portfolio=portfolio,
            status=PipelineRun.Status.SUCCESS,
            started_at=now,
            finished_at=now,
            triggered_by="seed (marked by seed_demo)",
        )
        for day in sorted(marked)
    )
    return len(marked)


def seed_pipelines(options: SeedOptions) -> str:
    """Give each demo fund its default limits (and the flagship the demo signal rules), then
    run (once: a second seed finds them done) the EOD of the last demo day and the pre-open of
    the business day after, as Celery Beat would have."""
    lines = []
    session = next_business_day(options.end)
    # Only the demo funds: other funds in the database (real or the bench's) are not the demo's.
    codes = [fund.code for fund in DEMO_FUNDS]
    funds = Portfolio.objects.active().filter(code__in=codes)
    for portfolio in sorted(funds, key=lambda p: codes.index(p.code)):
        _ensure_limits_and_rules(portfolio)
        _record_marked_days(portfolio, options.end)
        eod = run_pipeline(PipelineRun.Pipeline.EOD, portfolio, options.end, triggered_by="seed")
        preopen = run_pipeline(
            PipelineRun.Pipeline.PREOPEN, portfolio, session, triggered_by="seed"
        )
        lines.append(
            f"{portfolio.code}: EOD {options.end:%d/%m/%Y} {eod.status}, "
            f"pre-open {session:%d/%m/%Y} {preopen.status}"
        )
        for outcome in (eod, preopen):
            if outcome.status == "failed" and outcome.run is not None:
                lines.append(f"  {outcome.run.get_pipeline_display()} failed: {outcome.run.error}")
    return "Pipelines: " + ("; ".join(lines) if lines else "no active demo fund")
