"""The journal's links to positions and proposals become plain ids (same names, same columns).

The journal is the bottom floor: it must name no higher model. The database keeps every column,
value and index (each entry's hash covers `portfolio_id`, `position_id`, `trade_id`,
`proposal_id`); only the foreign-key constraints go (`db_constraint=False` first), then the
state swaps each ForeignKey for a BigIntegerField of the same column without touching the data.
"""

import django.db.models.deletion
from django.db import migrations, models

LINKS = (
    ("portfolio", "positions.portfolio", "The portfolio's id (positions.Portfolio)."),
    ("position", "positions.position", "The position's id (positions.Position)."),
    ("trade", "positions.trade", "The trade's id (positions.Trade)."),
    ("proposal", "proposals.proposal", "The proposal's id (proposals.Proposal)."),
)
INDEX = "journal_ent_portfol_541b93_idx"


def _drop_constraint(name: str, to: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name="entry",
        name=name,
        field=models.ForeignKey(
            blank=True,
            null=True,
            db_constraint=False,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="+",
            to=to,
        ),
    )


def _as_id(name: str, help_text: str) -> migrations.AddField:
    return migrations.AddField(
        model_name="entry",
        name=f"{name}_id",
        field=models.BigIntegerField(blank=True, db_index=True, help_text=help_text, null=True),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0004_refuse_truncate"),
        ("positions", "0002_trade_proposal"),
        ("proposals", "0001_initial"),
    ]

    operations = [
        *(_drop_constraint(name, to) for name, to, _ in LINKS),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="entry", name=INDEX),
                *(migrations.RemoveField(model_name="entry", name=name) for name, _, _ in LINKS),
                *(_as_id(name, help_text) for name, _, help_text in LINKS),
                migrations.AddIndex(
                    model_name="entry",
                    index=models.Index(fields=["portfolio_id", "created_at"], name=INDEX),
                ),
            ],
        ),
    ]
