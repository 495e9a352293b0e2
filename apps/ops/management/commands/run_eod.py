"""manage.py run_eod --date D: the 18:00 pipeline, synchronously."""

from apps.ops.management.commands._pipeline import PipelineCommand
from apps.ops.models import PipelineRun


class Command(PipelineCommand):
    help = "EOD: check prices → MTM → NAV → attribution → risk and limits → warm caches."
    pipeline = PipelineRun.Pipeline.EOD
