"""`manage.py import_b3_prices SPRD250203.zip`: futures settlements from B3's BVBG.187 report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.marketdata.importers import ImportFailed, import_b3_report
from apps.marketdata.management.commands.import_prices import failure


class Command(BaseCommand):
    help = (
        "Import the settlement prices of DI1, DAP, DDI, FRC, DOL, WDO, IND and WIN futures from "
        "B3's daily price report BVBG.187 (the SPRD*.zip or its XML), creating missing "
        "instruments. Nothing is written if anything is wrong; re-running is harmless."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="SPRD*.zip or BVBG.187 XML file.")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            result = import_b3_report(file)
        except ImportFailed as exc:
            raise failure(self, exc) from None
        self.stdout.write(result.summary())
        for note in result.notes:
            self.stdout.write(f"  {note}")
