"""Seed the market calendar with Copom decision days and IPCA release days (2025–2026).

Copom dates as published by the Banco Central; IPCA release dates as scheduled by IBGE.
Back office keeps this list current in the admin (Calendar events)."""

from datetime import date

from django.db import migrations

COPOM = [
    date(2025, 1, 29), date(2025, 3, 19), date(2025, 5, 7), date(2025, 6, 18),
    date(2025, 7, 30), date(2025, 9, 17), date(2025, 11, 5), date(2025, 12, 10),
    date(2026, 1, 28), date(2026, 3, 18), date(2026, 4, 29), date(2026, 6, 17),
    date(2026, 8, 5), date(2026, 9, 16), date(2026, 11, 4), date(2026, 12, 9),
]
IPCA = [
    date(2025, 1, 10), date(2025, 2, 11), date(2025, 3, 12), date(2025, 4, 10),
    date(2025, 5, 9), date(2025, 6, 10), date(2025, 7, 10), date(2025, 8, 12),
    date(2025, 9, 10), date(2025, 10, 9), date(2025, 11, 11), date(2025, 12, 10),
    date(2026, 1, 9), date(2026, 2, 10), date(2026, 3, 11), date(2026, 4, 10),
    date(2026, 5, 12), date(2026, 6, 10), date(2026, 7, 10), date(2026, 8, 11),
    date(2026, 9, 10), date(2026, 10, 9), date(2026, 11, 10), date(2026, 12, 10),
]


def load(apps, schema_editor):
    Event = apps.get_model("briefings", "CalendarEvent")
    for day in COPOM:
        Event.objects.get_or_create(date=day, kind="COPOM", defaults={"title": "Copom decision"})
    for day in IPCA:
        Event.objects.get_or_create(date=day, kind="IPCA", defaults={"title": "IPCA release"})


def unload(apps, schema_editor):
    apps.get_model("briefings", "CalendarEvent").objects.filter(
        kind__in=["COPOM", "IPCA"], date__in=COPOM + IPCA
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("briefings", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
