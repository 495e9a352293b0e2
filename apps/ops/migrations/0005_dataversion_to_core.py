"""DataVersion moved to core (core 0001_dataversion): ops forgets the model, the table and its
rows stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0004_merge_0003_run_journal_anchor_0003_run_lease"),
        ("core", "0001_dataversion"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="DataVersion")],
            database_operations=[],
        ),
    ]
