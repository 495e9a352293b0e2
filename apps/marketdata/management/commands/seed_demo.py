"""`manage.py seed_demo`: demo users and a synthetic market, idempotent and deterministic."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.marketdata.calendar import previous_business_day
from apps.marketdata.demo.store import seed_demo_market
from apps.ops.demo import seed_pipelines
from apps.ops.demo_users import ensure_demo_users
from apps.positions.demo import seed_fund

# Any seed gives a plausible market; this one's recent years show an easing and a tightening
# cycle, a good tour of the book and risk pages.
DEFAULT_SEED = 7


@dataclass(frozen=True)
class SeedOptions:
    start: date
    end: date
    years: int
    seed: int
    reset_passwords: bool


# A seeding step takes the options and returns its summary (a line, or a few). Later apps
# append theirs (a fund, trades, marks) after the market they depend on.
SeedStep = Callable[[SeedOptions], str]


def seed_users(options: SeedOptions) -> str:
    logins = ensure_demo_users(reset_passwords=options.reset_passwords)
    width = max(len(username) for username, _, _ in logins)
    lines = ["Demo logins:", f"  {'username':<{width}}  {'role':<11}  password"]
    lines += [f"  {user:<{width}}  {role:<11}  {password}" for user, role, password in logins]
    return "\n".join(lines)


def seed_market(options: SeedOptions) -> str:
    result = seed_demo_market(options.start, options.end, seed=options.seed)
    span = f"{result.days[0]} .. {result.days[-1]} ({len(result.days)} business days)"
    added, generated = result.added, result.generated
    if result.generated_from is None or not (added.instruments or added.prices or added.fixings):
        return f"Market {span}: already seeded, nothing added."
    summary = (
        f"Market {span}: generated from {result.generated_from}, added {added.instruments} "
        f"instruments, {added.prices} prices, {added.fixings} fixings"
    )
    if added != generated:
        summary += (
            f" (of {generated.instruments}, {generated.prices}, {generated.fixings} generated; "
            "the others were already there)"
        )
    return summary + "."


SEEDERS: list[SeedStep] = [seed_users, seed_market, seed_fund, seed_pipelines]


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
        for step in SEEDERS:
            started = time.perf_counter()
            first, *rest = step(options).splitlines() or [""]
            elapsed = time.perf_counter() - started
            self.stdout.write("\n".join([f"{first} [{elapsed:.1f} s]", *rest]))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
