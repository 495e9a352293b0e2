"""DataVersion moves from ops to core with its rows: the state only, the table stays
`ops_dataversion` (created by ops 0002_initial, which every database has applied or applies:
ops is always installed). No dependency on ops: core depends on no other app."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DataVersion",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("scope", models.CharField(max_length=48, unique=True)),
                        ("version", models.PositiveBigIntegerField(default=1)),
                    ],
                    options={"db_table": "ops_dataversion"},
                ),
            ],
            database_operations=[],
        ),
    ]
