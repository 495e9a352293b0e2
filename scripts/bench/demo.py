"""The demo fund the morning-pack, ops and backup benchmarks measure, seeded once per scale.

The real demo (users, market, Demo Macro FIM traded and marked by the engine) over 3 years at
full scale (about 10 % of that at `small`). The window ends on 31/12/2024 on purpose: the other
bench modules write their own prices and fixings in 2025 and in the last year, and a demo fund
marked over those would not be the demo fund. Seeding again (a module run after another) adds
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from scripts.bench import Scale

END = date(2024, 12, 31)
YEARS = 3
SEED = 7  # the demo's own seed (seed_demo's default)


@dataclass(frozen=True)
class DemoFund:
    portfolio: Any
    start: date
    last: date  # the last marked day

    @property
    def label(self) -> str:
        return f"demo fund {self.start:%d/%m/%Y}–{self.last:%d/%m/%Y}"


_FUNDS: dict[str, DemoFund] = {}


def demo_fund(scale: Scale) -> DemoFund:
    if scale.name not in _FUNDS:
        from apps.demo.fund import seed_fund
        from apps.demo.options import SeedOptions
        from apps.demo.seeders import seed_market
        from apps.demo.users import ensure_demo_users
        from apps.positions.models import NavRecord, Portfolio

        start = END - timedelta(days=scale.size(365 * YEARS))
        options = SeedOptions(start=start, end=END, years=YEARS, seed=SEED, reset_passwords=False)
        ensure_demo_users()
        seed_market(options)
        seed_fund(options)
        portfolio = Portfolio.objects.get(code="demo-macro")
        last = NavRecord.objects.filter(portfolio=portfolio).latest("date").date
        _FUNDS[scale.name] = DemoFund(portfolio, start, last)
    return _FUNDS[scale.name]
