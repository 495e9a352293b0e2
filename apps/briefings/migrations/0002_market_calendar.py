"""Seed the market calendar (apps/briefings/calendar_seed.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from apps.briefings.calendar_seed import ensure_market_calendar

    ensure_market_calendar(apps.get_model("briefings", "CalendarEvent"))


def unload(apps, schema_editor):
    from apps.briefings.calendar_seed import COPOM, IPCA

    apps.get_model("briefings", "CalendarEvent").objects.filter(
        kind__in=["COPOM", "IPCA"], date__in=COPOM + IPCA
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("briefings", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
