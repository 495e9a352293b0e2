"""`manage.py seed_demo`: demo users and a synthetic market, idempotent and deterministic."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.demo import seeders
from apps.demo.options import DEFAULT_SEED, SeedOptions
from apps.marketdata.calendar import previous_business_day


class Command(BaseCommand):
    help = (
        "Create the demo users and a deterministic synthetic market (prices and fixings on "
        "ANBIMA business days). Safe to run again: only missing rows are added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=int, default=3, help="History length (default 3).")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED})."
        )
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            help="Last date, YYYY-MM-DD (default: the last business day before today).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo users' passwords back to the demo password.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even though DEBUG is off (demo users with a known password!).",
        )

    def handle(self, *args: Any, **raw: Any) -> None:
        if not settings.DEBUG and not raw["allow_production"]:
            raise CommandError(
                "Refusing to seed demo data with DEBUG off: it creates users with a published "
                "password and synthetic prices. Pass --allow-production if this really is a "
                "demo installation."
            )
        if raw["years"] < 1:
            raise CommandError("--years must be at least 1.")
        end = raw["end"] or previous_business_day(timezone.localdate())
        options = SeedOptions(
            start=_years_before(end, raw["years"]),
            end=end,
            years=raw["years"],
            seed=raw["seed"],
            reset_passwords=raw["reset_passwords"],
        )
        for step in seeders.SEEDERS:
            started = time.perf_counter()
            first, *rest = step(options).splitlines() or [""]
            elapsed = time.perf_counter() - started
            self.stdout.write("\n".join([f"{first} [{elapsed:.1f} s]", *rest]))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
