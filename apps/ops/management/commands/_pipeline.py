"""Shared body of run_eod and run_preopen."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.marketdata.calendar import previous_business_day
from apps.ops.models import PipelineRun
from apps.ops.pipelines import Outcome, eod_refusal, run_due, run_pipeline
from apps.positions.models import Portfolio

BUSY_EXIT = 75  # EX_TEMPFAIL


class PipelineCommand(BaseCommand):
    pipeline: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="Business date; default today.")
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")
        parser.add_argument(
            "--force", action="store_true", help="Run again even if it already succeeded."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = self._business_date(options["date"])
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        statuses: set[str] = set()
        for portfolio in portfolios:
            outcomes = self._run(portfolio, day, force=options["force"])
            if not outcomes:
                self.stdout.write(f"{portfolio.code}: nothing due through {day}.")
            for outcome in outcomes:
                run = outcome.run
                when = f" {run.business_date}" if run else ""
                self.stdout.write(f"{portfolio.code}{when}: {outcome.status}")
                statuses.add(outcome.status)
        if "failed" in statuses:
            raise CommandError("A pipeline failed: see the steps above and the pipelines page.")
        if "busy" in statuses:
            # Distinct from a failure (75, EX_TEMPFAIL): cron and ops can tell "try later".
            raise CommandError(
                "busy: another process holds this pipeline's lease (a run in progress); "
                "nothing was run for it. Try again when it has finished.",
                returncode=BUSY_EXIT,
            )

    def _business_date(self, asked: date | None) -> date:
        """The day to run through. The EOD of a market that has not closed is refused as on the
        pipelines page; with no --date it runs through the last closed day instead."""
        day = asked or timezone.localdate()
        if self.pipeline != PipelineRun.Pipeline.EOD:
            return day
        refusal = eod_refusal(day)
        if refusal is None:
            return day
        if asked is not None:
            raise CommandError(refusal)
        closed = previous_business_day(day)
        self.stdout.write(f"{refusal} Running through {closed:%d/%m/%Y}, the last closed day.")
        return closed

    def _run(self, portfolio: Portfolio, day: date, *, force: bool) -> list[Outcome]:
        """Progress is printed as it happens: each date, each step with its duration."""
        progress = self._progress
        if force:
            return [
                run_pipeline(
                    self.pipeline,
                    portfolio,
                    day,
                    force=True,
                    triggered_by="manage.py",
                    progress=progress,
                )
            ]
        return run_due(
            self.pipeline, day, portfolio=portfolio, triggered_by="manage.py", progress=progress
        )

    def _progress(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
