"""manage.py run_mtm --date D [--portfolio CODE] [--catch-up]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.marketdata.calendar import previous_business_day
from apps.positions.models import Portfolio
from apps.positions.mtm import MtmError, MtmResult, catch_up, run_mtm


class Command(BaseCommand):
    help = (
        "Mark every position to market for a business date and close the NAV bridge. "
        "With --catch-up, mark every missing business day up to the date, in order."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=date.fromisoformat,
            help="Business date (YYYY-MM-DD); default: the previous business day.",
        )
        parser.add_argument("--portfolio", help="Portfolio code; default: every active one.")
        parser.add_argument(
            "--catch-up", action="store_true", help="Also mark missing earlier business days."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["date"] or previous_business_day(timezone.localdate())
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = Portfolio.objects.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No portfolio with code {options['portfolio']!r}.")
        failures = 0
        for portfolio in portfolios:
            try:
                results = (
                    catch_up(portfolio, day) if options["catch_up"] else [run_mtm(portfolio, day)]
                )
            except MtmError as error:
                failures += 1
                self.stderr.write(f"{portfolio.code}: " + "; ".join(error.messages))
                continue
            self._summarise(portfolio, results)
        if failures:
            raise CommandError(
                f"MTM failed for {failures} portfolio(s); nothing was written for them."
            )

    def _summarise(self, portfolio: Portfolio, results: list[MtmResult]) -> None:
        if not results:
            self.stdout.write(f"{portfolio.code}: already marked through the date.")
            return
        last = results[-1]
        self.stdout.write(
            f"{portfolio.code}: marked {len(results)} day(s) through {last.day:%Y-%m-%d}; "
            f"{last.marks} positions, NAV {last.nav.nav_close:,.2f} "
            f"(day P&L {last.nav.pnl_brl:+,.2f})"
        )
