"""Shared body of run_eod and run_preopen."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.ops.models import PipelineRun, StepRun
from apps.ops.pipelines import run_due, run_pipeline
from apps.positions.models import Portfolio


class PipelineCommand(BaseCommand):
    pipeline: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="Business date; default today.")
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")
        parser.add_argument(
            "--force", action="store_true", help="Run again even if it already succeeded."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["date"] or timezone.localdate()
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        failed = False
        for portfolio in portfolios:
            if options["force"]:
                outcomes = [
                    run_pipeline(
                        self.pipeline, portfolio, day, force=True, triggered_by="manage.py"
                    )
                ]
            else:
                outcomes = run_due(
                    self.pipeline, day, portfolio=portfolio, triggered_by="manage.py"
                )
            if not outcomes:
                self.stdout.write(f"{portfolio.code}: nothing due through {day}.")
            for outcome in outcomes:
                self._report(portfolio, outcome)
                failed |= outcome.status == "failed"
        if failed:
            raise CommandError("A pipeline failed: see the steps above and the pipelines page.")

    def _report(self, portfolio: Portfolio, outcome: Any) -> None:
        run: PipelineRun | None = outcome.run
        if run is None:
            self.stdout.write(f"{portfolio.code}: {outcome.status}.")
            return
        self.stdout.write(f"{portfolio.code} {run.business_date}: {outcome.status} ({run.status})")
        for step in run.steps.filter(run_attempt=run.attempt):
            labels = {str(StepRun.Status.SUCCESS): "ok", str(StepRun.Status.FAILED): "FAILED"}
            mark = labels.get(step.status, step.status)
            self.stdout.write(
                f"  {step.order}. {step.name:<13} {mark:<7} {step.error or step.detail}"
            )
