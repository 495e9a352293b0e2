"""`manage.py fetch_bcb --series cdi,ptax --start 2025-01-01`: fixings from the BCB SGS API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.marketdata.importers import ImportFailed, fetch_fixings
from apps.marketdata.importers.bcb_sgs import ALIASES, DEFAULT_SERIES, SERIES
from apps.marketdata.management.commands.import_prices import failure


class Command(BaseCommand):
    help = (
        "Fetch index fixings (CDI, Selic, Selic target, IPCA, PTAX) from the BCB SGS API and "
        "store them; all or nothing, identical values skipped. Series: "
        + ", ".join([*SERIES, *ALIASES])
        + " or SGS codes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--series",
            default=",".join(DEFAULT_SERIES),
            help="Comma-separated names or SGS codes (default: %(default)s).",
        )
        parser.add_argument(
            "--start", type=date.fromisoformat, help="First date, YYYY-MM-DD (default: end - 30)."
        )
        parser.add_argument(
            "--end", type=date.fromisoformat, help="Last date, YYYY-MM-DD (default: today)."
        )

    def handle(
        self, *args: Any, series: str, start: date | None, end: date | None, **options: Any
    ) -> None:
        end = end or timezone.localdate()
        start = start or end - timedelta(days=30)
        try:
            result = fetch_fixings(series.split(","), start, end)
        except ImportFailed as exc:
            raise failure(self, exc) from None
        self.stdout.write(result.summary())
        for note in result.notes:
            self.stdout.write(f"  {note}")
