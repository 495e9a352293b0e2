from django.db import migrations


class Migration(migrations.Migration):
    """The data versions (moved from ops) and the refresh outbox came in side by side."""

    dependencies = [
        ("core", "0001_dataversion"),
        ("core", "0001_refresh_outbox"),
    ]

    operations = []
