"""The demo gestora's other vehicles: a smaller qualified-investor fund with its own
strategies, and a managed account. Smaller books than the flagship's (a handful of slots, no
tactical trading) and later launches (the qualified fund about six months, the managed account
about three months before the demo's last day), so `seed_demo` stays quick; each is traded by
the same planner over the same demo market and marked by the MTM engine like the flagship.

Both overlap the flagship on purpose (the managed account receives the one-year DI1 the
flagship receives; the qualified fund pays the five-year the flagship receives) so the firm
view has netting and diversification to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.demo.fund.book import FLAGSHIP, Pick, Script, Size, Slot

_JAN, _MAY = "F", "K"


@dataclass(frozen=True)
class DemoFund:
    code: str
    name: str
    initial_nav: Decimal
    script: Script
    # Launched this many business days before the demo's last day (None: on its first day).
    launch_days: int | None = None


QUALIFIED = Script(
    strategies=(
        ("real-rates", "Real rates"),
        ("curve", "Curve steepener"),
        ("fx-carry", "FX carry"),
    ),
    slots=(
        Slot(
            "ntnb-mid",
            "real-rates",
            Pick("NTNB_", du=2300, roll_du=120),
            Size(units=4_000, lot=100),
            thesis="Real yields above 6 % for qualified investors who can hold the duration.",
            stop=0.04,
            target=0.08,
        ),
        Slot(
            "dap-2y",
            "real-rates",
            Pick("DAP", du=500, months=_MAY, roll_du=126),
            Size(units=120, lot=5),
        ),
        Slot(
            "di1-2y",
            "curve",
            Pick("DI1", du=500, months=_JAN, roll_du=250),
            Size(dv01=6_000, lot=5),
            thesis="Steepener: receive the two-year, pay the five-year against the fiscal premium.",
            stop=30,
            target=60,
        ),
        Slot(
            "di1-5y",
            "curve",
            Pick("DI1", du=1260, months=_JAN, roll_du=750),
            Size(dv01=5_000, lot=5),
        ),
        Slot("dol", "fx-carry", Pick("DOL"), Size(units=40, lot=5)),
    ),
    events={
        0: [
            ("ntnb-mid", "BUY", 1),
            ("dap-2y", "BUY", 1),
            ("di1-2y", "BUY", 1),
            ("di1-5y", "SELL", 1),
            ("dol", "SELL", 1),
        ],
        40: [("ntnb-mid", "add", 0.3)],
        80: [("dol", "cut", 0.5)],
    },
    flows={60: [("SUBSCRIPTION", "20000000.00", "Subscription: private bank platform")]},
    tactical={},
    stream=2,
)

MANAGED_ACCOUNT = Script(
    strategies=(("rates-br", "Rates BR"), ("equities", "Equities BR")),
    slots=(
        Slot(
            "di1-1y",
            "rates-br",
            Pick("DI1", du=300, months=_JAN, roll_du=126),
            Size(dv01=4_000, lot=5),
        ),
        Slot(
            "ltn-short", "rates-br", Pick("LTN_", du=800, roll_du=120), Size(units=8_000, lot=100)
        ),
        Slot("ind", "equities", Pick("IND"), Size(units=40, lot=5)),
    ),
    events={
        0: [("di1-1y", "BUY", 1), ("ltn-short", "BUY", 1), ("ind", "BUY", 1)],
        30: [("ind", "cut", 0.5)],
    },
    flows={},
    tactical={},
    stream=3,
)

FLAGSHIP_FUND = DemoFund("demo-macro", "Demo Macro FIM", Decimal("500000000.00"), FLAGSHIP)
QUALIFIED_FUND = DemoFund(
    "demo-macro-qi", "Demo Macro Qualificado FIM", Decimal("150000000.00"), QUALIFIED, 126
)
MANAGED_ACCOUNT_FUND = DemoFund(
    "demo-pension", "Demo Pension Managed Account", Decimal("80000000.00"), MANAGED_ACCOUNT, 63
)
DEMO_FUNDS: tuple[DemoFund, ...] = (FLAGSHIP_FUND, QUALIFIED_FUND, MANAGED_ACCOUNT_FUND)
