"""`Trade.proposal` goes: the link is held by proposals (`proposals.Execution`), a higher floor.

proposals 0002 copies every trade's proposal into that table first."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("positions", "0002_trade_proposal"),
        ("proposals", "0002_execution"),
    ]

    operations = [
        migrations.RemoveField(model_name="trade", name="proposal"),
    ]
