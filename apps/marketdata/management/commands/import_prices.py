"""`manage.py import_prices FILE.csv`: settlement prices from a CSV file, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.marketdata.importers import ImportFailed, import_price_csv


class Command(BaseCommand):
    help = (
        "Import settlement prices from a CSV file with the header date,ticker,price,rate "
        "(docs/MARKET_DATA.md). Nothing is written if any row is wrong; re-running is harmless."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file (UTF-8).")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            result = import_price_csv(file)
        except ImportFailed as exc:
            raise failure(self, exc) from None
        self.stdout.write(result.summary())


def failure(command: BaseCommand, exc: ImportFailed) -> CommandError:
    """Print every error to stderr; the CommandError makes the exit status non-zero."""
    for error in exc.errors:
        command.stderr.write(error)
    return CommandError(f"{len(exc.errors)} error(s); nothing was imported.")
