"""What a demo seed covers: the window, the random seed and the password policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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
