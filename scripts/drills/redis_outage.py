"""Drill: Redis paused, then killed, under load from logged-in users.

Each user logs in through the login form and GETs the pages in a loop while Redis is healthy,
paused (SIGSTOP / `docker compose pause`: connections hang), resumed, then killed. Every answer
must be a 200 (no 5xx, nobody sent back to the login page) and each phase's p95 must stay under
`--max-p95-ms`. Prints per phase: requests, errors, p50/p95/max latency.

    python -m scripts.drills.redis_outage --base-url https://pms-staging.example \\
        --user pm_alice:secret --user cio_bob:secret --pages /book/ /risk/ /market/
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scripts.drills import redis_control
from scripts.drills.redis_control import RedisControl
from scripts.drills.web_client import Answer, WebUser

DEFAULT_PAGES = ("/book/", "/risk/", "/attribution/", "/market/", "/blotter/", "/journal/")


@dataclass
class Phase:
    name: str
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    def quantile_ms(self, q: float) -> float:
        times = sorted(a.seconds for a in self.answers)
        if not times:
            return 0.0
        return 1000 * times[min(len(times) - 1, int(q * len(times)))]

    def line(self) -> str:
        statuses = Counter(a.status for a in self.answers)
        median = statistics.median(a.seconds for a in self.answers) if self.answers else 0.0
        return (
            f"{self.name:<9} {len(self.answers):>6} req {len(self.answers) / self.seconds:>7.1f}/s"
            f"  errors {len(self.failures):>4}  p50 {1000 * median:>7.1f} ms"
            f"  p95 {self.quantile_ms(0.95):>7.1f} ms  max {self.quantile_ms(1.0):>7.1f} ms"
            f"  statuses {dict(sorted(statuses.items()))}"
        )


@dataclass
class Report:
    phases: list[Phase]
    logged_in: int
    users: int
    max_p95_ms: float

    @property
    def ok(self) -> bool:
        return (
            self.logged_in == self.users
            and all(not p.failures for p in self.phases)
            and all(p.quantile_ms(0.95) <= self.max_p95_ms for p in self.phases)
        )

    def lines(self) -> list[str]:
        out = [f"logged in: {self.logged_in} of {self.users} users"]
        out += [p.line() for p in self.phases]
        for phase in self.phases:
            for answer in phase.failures[:3]:
                where = f" -> {answer.location}" if answer.location else ""
                out.append(f"  {phase.name}: {answer.status}{where}")
        out.append(f"verdict: {'PASS' if self.ok else 'FAIL'} (p95 limit {self.max_p95_ms} ms)")
        return out


def run(
    base_url: str,
    users: Sequence[tuple[str, str]],
    redis: RedisControl,
    *,
    pages: Sequence[str] = DEFAULT_PAGES,
    seconds: float = 10.0,
    max_p95_ms: float = 2000.0,
    after_kill: Callable[[], None] | None = None,
) -> Report:
    """Baseline, paused, resumed and killed phases of `seconds` each under load."""
    clients = [WebUser(base_url) for _ in users]
    logged_in = sum(c.log_in(u, p) for c, (u, p) in zip(clients, users, strict=True))
    phases = [Phase(name) for name in ("baseline", "paused", "resumed", "killed")]
    current: list[Phase] = [phases[0]]
    stop = threading.Event()
    lock = threading.Lock()

    def load(client: WebUser, offset: int) -> None:
        for page in itertools.islice(itertools.cycle(pages), offset, None):
            if stop.is_set():
                return
            answer = client.get(page)
            with lock:
                current[0].answers.append(answer)

    threads = [
        threading.Thread(target=load, args=(c, n), daemon=True) for n, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    actions: list[Callable[[], None]] = [redis.pause, redis.resume, redis.kill]
    try:
        for n, phase in enumerate(phases):
            started = time.perf_counter()
            with lock:
                current[0] = phase
            time.sleep(seconds)
            phase.seconds = time.perf_counter() - started
            if n < len(actions):
                actions[n]()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if after_kill is not None:
            after_kill()
    return Report(phases, logged_in, len(users), max_p95_ms)


def _user(value: str) -> tuple[str, str]:
    username, _, password = value.partition(":")
    if not password:
        raise argparse.ArgumentTypeError("give USERNAME:PASSWORD")
    return username, password


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--user", type=_user, action="append", required=True)
    parser.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES))
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--max-p95-ms", type=float, default=2000.0)
    redis_control.add_arguments(parser)
    args = parser.parse_args(argv)
    control = redis_control.from_arguments(args)
    report = run(
        args.base_url,
        args.user,
        control,
        pages=args.pages,
        seconds=args.seconds,
        max_p95_ms=args.max_p95_ms,
        after_kill=control.restart,
    )
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
