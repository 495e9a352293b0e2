"""manage.py run_preopen --date D: the 06:00 pipeline, synchronously."""

from apps.ops.management.commands._pipeline import PipelineCommand
from apps.ops.models import PipelineRun


class Command(PipelineCommand):
    help = "Pre-open: expire → generate proposals → what-if → morning pack → warm caches."
    pipeline = PipelineRun.Pipeline.PREOPEN
