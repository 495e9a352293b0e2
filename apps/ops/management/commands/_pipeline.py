"""Shared body of run_eod and run_preopen: the firm's canvas (market step, every fund, firm
step) in this process, or with --portfolio that fund's runs only."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.marketdata.calendar import is_business_day, previous_business_day
from apps.ops.canvas import run_in_process
from apps.ops.models import CanvasRun, PipelineRun
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
        if options["portfolio"]:
            statuses = self._one_fund(options["portfolio"], day, force=options["force"])
        else:
            statuses = self._canvas(day, force=options["force"])
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

    def _canvas(self, day: date, *, force: bool) -> set[str]:
        """The firm's canvas in this process: the market step, every fund, the firm step."""
        if not is_business_day(day):
            if self.pipeline != PipelineRun.Pipeline.EOD:
                self.stdout.write(f"{day:%d/%m/%Y} is not a business day: nothing to run.")
                return set()
            day = previous_business_day(day)  # the EOD catches up through the last one
            self.stdout.write(f"Not a business day: running through {day:%d/%m/%Y}.")
        result = run_in_process(
            self.pipeline, day, triggered_by="manage.py", force=force, sink=self._progress
        )
        statuses: set[str] = set()
        for fund in result.funds:
            if not fund["runs"]:
                self.stdout.write(f"{fund['code']}: nothing due through {day}.")
            for when, status in fund["runs"]:
                self.stdout.write(f"{fund['code']} {when}: {status}")
                statuses.add(status)
            statuses.add(fund["status"])
        canvas = result.canvas
        failed = ", ".join(f["code"] for f in canvas.failed)
        self.stdout.write(
            f"firm {day}: {canvas.get_status_display()}"
            + (f" ({canvas.error})" if canvas.error else "")
            + (f"; failed: {failed}" if failed else "")
        )
        if canvas.status == CanvasRun.Status.FAILED:
            statuses.add("failed")
        return statuses

    def _one_fund(self, code: str, day: date, *, force: bool) -> set[str]:
        """--portfolio: that fund's runs only (its steps check the market for themselves
        unless the day's market step has), no firm step."""
        portfolio = Portfolio.objects.active().filter(code=code).first()
        if portfolio is None:
            raise CommandError(f"No active portfolio with code {code!r}.")
        outcomes = self._run(portfolio, day, force=force)
        if not outcomes:
            self.stdout.write(f"{portfolio.code}: nothing due through {day}.")
        for outcome in outcomes:
            run = outcome.run
            when = f" {run.business_date}" if run else ""
            self.stdout.write(f"{portfolio.code}{when}: {outcome.status}")
        return {o.status for o in outcomes}

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
