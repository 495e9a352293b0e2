"""The market calendar's seed: Copom decision days (Banco Central) and IPCA release days
(IBGE), 2025–2026. Back office keeps it current in the admin (Calendar events); loaded by
migration 0002 and again after every `migrate`/flush (missing rows only)."""

from datetime import date
from typing import Any

COPOM = [
    date(2025, 1, 29),
    date(2025, 3, 19),
    date(2025, 5, 7),
    date(2025, 6, 18),
    date(2025, 7, 30),
    date(2025, 9, 17),
    date(2025, 11, 5),
    date(2025, 12, 10),
    date(2026, 1, 28),
    date(2026, 3, 18),
    date(2026, 4, 29),
    date(2026, 6, 17),
    date(2026, 8, 5),
    date(2026, 9, 16),
    date(2026, 11, 4),
    date(2026, 12, 9),
]
IPCA = [
    date(2025, 1, 10),
    date(2025, 2, 11),
    date(2025, 3, 12),
    date(2025, 4, 10),
    date(2025, 5, 9),
    date(2025, 6, 10),
    date(2025, 7, 10),
    date(2025, 8, 12),
    date(2025, 9, 10),
    date(2025, 10, 9),
    date(2025, 11, 11),
    date(2025, 12, 10),
    date(2026, 1, 9),
    date(2026, 2, 10),
    date(2026, 3, 11),
    date(2026, 4, 10),
    date(2026, 5, 12),
    date(2026, 6, 10),
    date(2026, 7, 10),
    date(2026, 8, 11),
    date(2026, 9, 10),
    date(2026, 10, 9),
    date(2026, 11, 10),
    date(2026, 12, 10),
]


def ensure_market_calendar(model: Any = None) -> int:
    """Create the seeded events that are missing; returns how many were created."""
    if model is None:
        from apps.briefings.models import CalendarEvent as model
    created = 0
    for kind, title, days in (("COPOM", "Copom decision", COPOM), ("IPCA", "IPCA release", IPCA)):
        for day in days:
            created += model.objects.get_or_create(date=day, kind=kind, defaults={"title": title})[
                1
            ]
    return created
