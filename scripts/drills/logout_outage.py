"""Drill: a logout made while Redis is paused (or killed) stays a logout.

A user logs in, Redis is paused, the user loads the cached pages (`--traffic-pages`: the load
that opens the circuit breaker, so nothing reaches Redis), logs out, and the session cookie
they had is tried again: while Redis hangs, after it answers again (past the breaker's 30 s
cooldown), and likewise with Redis killed and restarted. Every try must be sent to the login
page. Prints each step's status and time.

    python -m scripts.drills.logout_outage --base-url https://pms-staging.example \\
        --user pm_alice:secret
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scripts.drills import redis_control
from scripts.drills.redis_outage import _user
from scripts.drills.web_client import Answer, WebUser

BREAKER_COOLDOWN_SECONDS = 30.0  # apps.core.breaker: Redis is not asked again before this


def served(answer: Answer) -> bool:
    return answer.status == 200


def logged_out(answer: Answer) -> bool:
    """The logout's own answer: a redirect (to the login page)."""
    return answer.status == 302


def sent_to_login(answer: Answer) -> bool:
    return answer.sent_to_login


@dataclass
class Step:
    name: str
    answer: Answer
    check: Callable[[Answer], bool]

    @property
    def ok(self) -> bool:
        return self.check(self.answer)

    def line(self) -> str:
        where = f" -> {self.answer.location}" if self.answer.location else ""
        return (
            f"{self.name:<42} {self.answer.status}{where:<24}"
            f" {1000 * self.answer.seconds:8.1f} ms  {'ok' if self.ok else 'FAIL'}"
        )


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps] + [f"verdict: {'PASS' if self.ok else 'FAIL'}"]


def run(
    base_url: str,
    user: tuple[str, str],
    redis: redis_control.RedisControl,
    *,
    page: str = "/market/",
    traffic_pages: Sequence[str] = ("/book/", "/risk/"),
    traffic_rounds: int = 3,
    settle: Callable[[], None] | None = None,
    restart: Callable[[], None] | None = None,
) -> Report:
    """`settle` waits until Redis is asked again (default: the breaker's cooldown)."""
    settle = settle or (lambda: time.sleep(BREAKER_COOLDOWN_SECONDS + 2))
    report = Report()

    def step(name: str, answer: Answer, check: Callable[[Answer], bool]) -> None:
        report.steps.append(Step(name, answer, check))

    def traffic(client: WebUser) -> Answer:
        """The pages' answers as one: the first that is not a 200, else the last."""
        answers = [client.get(p) for _ in range(traffic_rounds) for p in traffic_pages]
        worst = next((a for a in answers if a.status != 200), answers[-1])
        return Answer(worst.status, worst.location, sum(a.seconds for a in answers))

    def cycle(label: str, outage: Callable[[], None], recover: Callable[[], None] | None) -> None:
        client = WebUser(base_url)
        if not client.log_in(*user):
            step(f"{label}: log in", Answer(0, "", 0.0), served)
            return
        step(f"{label}: a page before the outage", client.get(page), served)
        cookie = client.cookie()

        def replay() -> Answer:
            return client.presenting(cookie).get(page)

        step(f"{label}: kept cookie, before the outage", replay(), served)
        outage()
        step(f"{label}: traffic during the outage", traffic(client), served)
        step(f"{label}: log out during the outage", client.post("/logout/"), logged_out)
        step(f"{label}: kept cookie, during the outage", replay(), sent_to_login)
        if recover is not None:
            recover()
            settle()
            step(f"{label}: kept cookie, Redis back", replay(), sent_to_login)

    cycle("paused", redis.pause, redis.resume)
    cycle("killed", redis.kill, restart)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--user", type=_user, required=True, help="USERNAME:PASSWORD")
    parser.add_argument("--page", default="/market/")
    parser.add_argument("--traffic-pages", nargs="+", default=["/book/", "/risk/"])
    redis_control.add_arguments(parser)
    args = parser.parse_args(argv)
    control = redis_control.from_arguments(args)
    report = run(
        args.base_url,
        args.user,
        control,
        page=args.page,
        traffic_pages=args.traffic_pages,
        restart=control.restart,
    )
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
