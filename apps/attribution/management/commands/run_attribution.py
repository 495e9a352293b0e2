"""manage.py run_attribution --date D [--portfolio CODE]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.attribution.queries import marked_range
from apps.attribution.services import run_attribution
from apps.positions.models import Portfolio


class Command(BaseCommand):
    help = "Store returns, % of CDI, statistics and contributions for MTD/QTD/YTD/12M/ITD."

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
            day = options["date"] or marked_range(portfolio)[1]
            try:
                if day is None:
                    raise ValidationError(f"{portfolio} has no marked days yet.")
                snapshot = run_attribution(portfolio, day)
            except ValidationError as error:
                failures += 1
                self.stderr.write(f"{portfolio.code}: " + "; ".join(error.messages))
                continue
            ytd = snapshot.periods["ytd"]
            if ytd.get("na_reason"):
                pct = f"% of CDI n/a: {ytd['na_reason'].rstrip('.')}"
            elif ytd["pct_cdi"] is not None:
                pct = f"{ytd['pct_cdi']:.0%} of CDI"
            else:
                pct = "CDI n/a"
            self.stdout.write(
                f"{portfolio.code} {day}: YTD {ytd['twr']:+.2%} ({pct}), "
                f"P&L {float(ytd['pnl']):+,.2f}"
            )
        if failures:
            raise CommandError(f"Attribution failed for {failures} portfolio(s).")
