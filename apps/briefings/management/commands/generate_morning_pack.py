"""manage.py generate_morning_pack --date D [--portfolio CODE] [--language pt-BR|en]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.briefings.services import generate_morning_pack
from apps.positions.models import Portfolio


class Command(BaseCommand):
    help = "Build the morning pack's facts and narrative (LLM if grounded, else template)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="Trading day; default today.")
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")
        parser.add_argument("--language", choices=("pt-BR", "en"))

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["date"] or timezone.localdate()
        portfolios = Portfolio.objects.active()
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        for portfolio in portfolios:
            try:
                pack = generate_morning_pack(portfolio, day, language=options["language"])
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from error
            reason = f" ({pack.rejection_reason})" if pack.rejection_reason else ""
            self.stdout.write(
                f"{portfolio.code} {day}: version {pack.version}, {pack.source} narrative{reason}; "
                f"facts in {pack.timings['facts_ms']} ms."
            )
