"""manage.py generate_proposals --date D [--portfolio CODE]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.marketdata.calendar import is_business_day
from apps.positions.models import Portfolio
from apps.proposals.rules import generate_proposals


class Command(BaseCommand):
    help = "Run the enabled signal rules and create the day's pending proposals (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="Trading day; default today.")
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["date"] or timezone.localdate()
        if not is_business_day(day):
            raise CommandError(f"{day:%Y-%m-%d} is not an ANBIMA business day.")
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        for portfolio in portfolios:
            created = generate_proposals(portfolio, day)
            self.stdout.write(f"{portfolio.code}: {len(created)} new proposal(s) for {day}.")
            for proposal in created:
                self.stdout.write(f"  #{proposal.pk} {proposal.source}: {proposal}")
