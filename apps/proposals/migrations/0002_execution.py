"""The proposal → trade link moves up from `positions.Trade.proposal` to `proposals.Execution`.

positions is the lower floor: it must not name a proposal. The existing links are copied here
(positions 0003 then drops the column); reversing copies them back."""

import django.db.models.deletion
from django.db import migrations, models


def copy_links(apps, schema_editor):
    trade = apps.get_model("positions", "Trade")
    execution = apps.get_model("proposals", "Execution")
    linked = trade.objects.filter(proposal__isnull=False).values_list("pk", "proposal_id")
    execution.objects.bulk_create(
        execution(trade_id=pk, proposal_id=proposal_id) for pk, proposal_id in linked
    )


def copy_back(apps, schema_editor):
    trade = apps.get_model("positions", "Trade")
    execution = apps.get_model("proposals", "Execution")
    for trade_id, proposal_id in execution.objects.values_list("trade_id", "proposal_id"):
        trade.objects.filter(pk=trade_id).update(proposal_id=proposal_id)


class Migration(migrations.Migration):
    dependencies = [
        ("positions", "0002_trade_proposal"),
        ("proposals", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Execution",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="proposals.proposal",
                    ),
                ),
                (
                    "trade",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="positions.trade",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="proposal",
            name="executions",
            field=models.ManyToManyField(
                blank=True,
                help_text="The trades that executed it.",
                related_name="+",
                through="proposals.Execution",
                to="positions.trade",
            ),
        ),
        migrations.RunPython(copy_links, copy_back),
    ]
