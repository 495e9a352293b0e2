"""`make bench`: timed operations on a large synthetic data set, reported against targets.

Each `scripts/bench/<app>.py` exposes `OPERATIONS = [BenchOp(...)]`; `run.py` lists the modules.
An operation's `setup(scale)` builds its inputs (untimed, before every repeat) and returns
what `run(state)` needs; only `run` is timed, unless it returns its own measure in
milliseconds (a float: the server time a response reports), which is reported instead. The
figures are a report, not a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scale:
    """`full` is the size the targets are set for; `small` is a quick smoke run."""

    name: str
    fraction: float

    def size(self, full: int) -> int:
        """`full` scaled down (never below 1)."""
        return max(1, round(full * self.fraction))


SCALES = {"full": Scale("full", 1.0), "small": Scale("small", 0.1)}


@dataclass(frozen=True)
class BenchOp:
    name: str
    target_ms: float | None  # at full scale; scaled linearly for `small`; None = informational
    setup: Callable[[Scale], Any]
    run: Callable[[Any], object]  # a float returned is the repeat's time in ms
    repeats: int = 1  # the median of the repeats is reported


_REPORTED: set[str] = set()
NOTES: list[str] = []  # what report() printed since the harness last took them (bench.json)


def report(key: str, text: str) -> None:
    """A figure the harness has no column for, printed once (per `key`) beside the
    operation's name, and kept with the operation's result in var/bench.json."""
    if key not in _REPORTED:
        _REPORTED.add(key)
        NOTES.append(text)
        print(f" {text}", end="", flush=True)


def reported(key: str) -> bool:
    return key in _REPORTED
