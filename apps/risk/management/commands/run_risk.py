"""manage.py run_risk --date D [--portfolio CODE]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.positions.models import Portfolio
from apps.risk.services import latest_risk_date, run_risk


class Command(BaseCommand):
    help = "Compute and store the risk snapshot (VaR, ES, DV01, stress, limits → alerts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="Default: the last NAV date.")
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")

    def handle(self, *args: Any, **options: Any) -> None:
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        failures = 0
        for portfolio in portfolios:
            day = options["date"] or latest_risk_date(portfolio)
            if day is None:
                self.stderr.write(f"{portfolio.code}: no marked day yet; run the MTM first.")
                failures += 1
                continue
            try:
                snapshot = run_risk(portfolio, day)
            except ValidationError as error:
                self.stderr.write(f"{portfolio.code}: " + "; ".join(error.messages))
                failures += 1
                continue
            report = snapshot.report
            breaches = [c for c in report["limits"] if c["level"] != "ok"]
            self.stdout.write(
                f"{portfolio.code} {day}: VaR99 {report['var99']:,.0f} "
                f"({report['var99'] / report['nav']:.2%} NAV), ES97.5 {report['es975']:,.0f}, "
                f"{report['scenarios']} scenarios, {len(breaches)} limit(s) over a level."
            )
            for warning in report["warnings"]:
                self.stdout.write(f"  warning: {warning}")
        if failures:
            raise CommandError(f"Risk failed for {failures} portfolio(s).")
