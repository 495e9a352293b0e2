"""The stress library: Brazilian historical episodes and B3-style primitive shocks.

Historical shocks approximate the peak-to-trough move of each factor over the source window
(DI1 in bp by business-day vertex, FX and equity in %), rounded; a starting library for the
risk committee to refine in the admin, not a published data set. Loaded by migration 0002 and
again after every `migrate`/flush (missing rows only: edits made in the admin are kept).
"""

from datetime import date
from typing import Any

HISTORICAL: list[tuple[str, str, date, date, dict[str, Any]]] = [
    (
        "election-2002",
        "2002 election (Lula) confidence crisis",
        date(2002, 5, 1),
        date(2002, 10, 10),
        {
            "di_bp": {"21": 600, "252": 900, "504": 1000, "1260": 900},
            "usdbrl_pct": 55,
            "ibov_pct": -35,
            "cupom_bp": 800,
            "dap_bp": {"252": 500, "1260": 400},
            "offshore_equity_pct": -15,
        },
    ),
    (
        "gfc-2008",
        "2008 global financial crisis (Lehman)",
        date(2008, 9, 12),
        date(2008, 10, 22),
        {
            "di_bp": {"21": 50, "252": 250, "504": 300, "1260": 250},
            "usdbrl_pct": 30,
            "ibov_pct": -35,
            "cupom_bp": 600,
            "dap_bp": {"252": 150, "1260": 120},
            "offshore_equity_pct": -25,
            "offshore_rates_pct": 3,
        },
    ),
    (
        "downgrade-2015",
        "2015 loss of investment grade",
        date(2015, 9, 9),
        date(2015, 9, 24),
        {
            "di_bp": {"21": 40, "252": 150, "504": 200, "1260": 250},
            "usdbrl_pct": 12,
            "ibov_pct": -8,
            "cupom_bp": 150,
            "dap_bp": {"252": 80, "1260": 120},
        },
    ),
    (
        "joesley-2017",
        "18 May 2017 \u201cJoesley day\u201d",
        date(2017, 5, 18),
        date(2017, 5, 18),
        {
            "di_bp": {"21": 30, "252": 100, "504": 150, "1260": 180},
            "usdbrl_pct": 8.1,
            "ibov_pct": -8.8,
            "cupom_bp": 60,
            "dap_bp": {"252": 60, "1260": 90},
        },
    ),
    (
        "covid-2020",
        "March 2020 Covid crash",
        date(2020, 2, 21),
        date(2020, 3, 23),
        {
            "di_bp": {"21": -50, "252": 0, "504": 80, "1260": 180},
            "usdbrl_pct": 18,
            "ibov_pct": -40,
            "cupom_bp": 200,
            "dap_bp": {"252": 150, "1260": 150},
            "offshore_equity_pct": -30,
            "offshore_rates_pct": 4,
        },
    ),
    (
        "fiscal-2024",
        "Late-2024 fiscal scare",
        date(2024, 11, 27),
        date(2024, 12, 18),
        {
            "di_bp": {"21": 80, "252": 250, "504": 250, "1260": 180},
            "usdbrl_pct": 8,
            "ibov_pct": -8,
            "cupom_bp": 80,
            "dap_bp": {"252": 150, "1260": 90},
        },
    ),
]

PRIMITIVE: list[tuple[str, str, dict[str, Any]]] = [
    ("di-up-100", "DI1 parallel +100 bp", {"di_bp": {"21": 100, "2520": 100}}),
    ("di-down-100", "DI1 parallel \u2212100 bp", {"di_bp": {"21": -100, "2520": -100}}),
    (
        "di-steepen-100",
        "DI1 steepener: short end flat, long end +100 bp",
        {"di_bp": {"21": 0, "252": 25, "1260": 100, "2520": 100}},
    ),
    ("dap-up-100", "DAP real curve +100 bp", {"dap_bp": {"252": 100, "2520": 100}}),
    ("usd-up-10", "USD/BRL +10 %", {"usdbrl_pct": 10}),
    ("usd-down-10", "USD/BRL \u221210 %", {"usdbrl_pct": -10}),
    ("ibov-down-15", "Ibovespa \u221215 %", {"ibov_pct": -15}),
    ("ibov-up-15", "Ibovespa +15 %", {"ibov_pct": 15}),
    ("cupom-up-200", "Cupom cambial +200 bp", {"cupom_bp": 200}),
    (
        "offshore-risk-off",
        "Offshore risk-off: S&P \u221210 %, Treasuries +2 %",
        {"offshore_equity_pct": -10, "offshore_rates_pct": 2},
    ),
]


def ensure_stress_library(model: Any = None) -> int:
    """Create the library's scenarios that are missing; returns how many were created."""
    if model is None:
        from apps.risk.models import StressScenario as model
    created = 0
    for code, name, start, end, shocks in HISTORICAL:
        _, made = model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": "HISTORICAL",
                "source_start": start,
                "source_end": end,
                "shocks": shocks,
                "description": f"Approximate factor moves {start:%d/%m/%Y}\u2013{end:%d/%m/%Y}.",
            },
        )
        created += made
    for code, name, shocks in PRIMITIVE:
        _, made = model.objects.get_or_create(
            code=code, defaults={"name": name, "kind": "PRIMITIVE", "shocks": shocks}
        )
        created += made
    return created
