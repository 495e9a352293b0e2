"""manage.py check_compliance [--date D] [--portfolio CODE] [--json]"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.compliance.engine import Result, evaluate
from apps.compliance.models import COUNT_KINDS, Status
from apps.compliance.services import active_rules, book_on, specs
from apps.positions.models import NavRecord, Portfolio


class Command(BaseCommand):
    help = (
        "Evaluate every active compliance rule on each fund's marked book (read-only) and print "
        "its value, limit and status; exit 1 when a hard rule is breached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=date.fromisoformat, help="Default: each fund's last NAV date."
        )
        parser.add_argument("--portfolio", help="Portfolio code; default every active one.")
        parser.add_argument("--json", action="store_true", help='{"rules": [{…}, …]}')

    def handle(self, *args: Any, **options: Any) -> None:
        portfolios = Portfolio.objects.active().order_by("code")
        if options["portfolio"]:
            portfolios = portfolios.filter(code=options["portfolio"])
            if not portfolios.exists():
                raise CommandError(f"No active portfolio with code {options['portfolio']!r}.")
        rows: list[dict[str, Any]] = []
        problems = []
        for portfolio in portfolios:
            day = options["date"] or _last_nav(portfolio)
            book = book_on(portfolio, day) if day else None
            if day is None or book is None:
                problems.append(f"{portfolio.code}: no NAV on {day or 'any day'}; mark it first.")
                continue
            for result in evaluate(specs(active_rules(portfolio)), book):
                rows.append(_row(portfolio, day, result))
        if options["json"]:
            self.stdout.write(json.dumps({"rules": rows, "problems": problems}, indent=2))
        else:
            self._print(rows, problems)
        hard = [r for r in rows if r["status"] == Status.BREACH]
        if hard or problems:
            raise SystemExit(1)

    def _print(self, rows: list[dict[str, Any]], problems: list[str]) -> None:
        for row in rows:
            value = "—" if row["value"] is None else _shown(row["kind"], row["value"])
            self.stdout.write(
                f"{row['portfolio']:<16} {row['date']} {row['rule']:<20} {value:>10} "
                f"limit {_shown(row['kind'], row['limit']):>9}  {row['status']:<6} "
                f"{row['detail']}"
            )
        for problem in problems:
            self.stderr.write(problem)
        hard = sum(r["status"] == Status.BREACH for r in rows)
        soft = sum(r["status"] == Status.WARN for r in rows)
        self.stdout.write(f"{len(rows)} rules: {hard} hard breach(es), {soft} soft.")


def _last_nav(portfolio: Portfolio) -> date | None:
    latest = NavRecord.objects.filter(portfolio=portfolio).order_by("-date").first()
    return latest.date if latest else None


def _row(portfolio: Portfolio, day: date, result: Result) -> dict[str, Any]:
    return {
        "portfolio": portfolio.code,
        "date": day.isoformat(),
        "rule": result.code,
        "kind": result.kind,
        "severity": result.severity,
        "value": None if result.value is None else float(result.value),
        "limit": float(result.limit),
        "status": result.status,
        "detail": result.detail,
    }


def _shown(kind: str, number: float) -> str:
    return f"{number:,.0f}" if kind in COUNT_KINDS else f"{number:.2%}"
