"""Load the stress library (apps/risk/stress_library.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from apps.risk.stress_library import ensure_stress_library

    ensure_stress_library(apps.get_model("risk", "StressScenario"))


def unload(apps, schema_editor):
    from apps.risk.stress_library import HISTORICAL, PRIMITIVE

    codes = [h[0] for h in HISTORICAL] + [p[0] for p in PRIMITIVE]
    apps.get_model("risk", "StressScenario").objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
