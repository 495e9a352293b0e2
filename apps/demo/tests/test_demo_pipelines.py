"""`seed_demo` ends with the last EOD and the next pre-open: the demo opens on a full morning."""

from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from apps.briefings.models import MorningPack
from apps.ops.models import PipelineRun
from apps.ops.pipelines import due_dates
from apps.positions.models import NavRecord, Portfolio
from apps.proposals.models import SignalRule
from apps.risk.models import Limit, RiskSnapshot

pytestmark = pytest.mark.django_db

END = date(2025, 2, 28)  # a Friday before Carnival


def test_the_demo_opens_with_risk_limits_rules_proposals_and_a_pack(settings: Any) -> None:
    settings.DEBUG = True
    settings.ANTHROPIC_API_KEY = ""
    out = StringIO()
    call_command("seed_demo", "--years", "1", "--end", END.isoformat(), stdout=out)
    runs = {(r.pipeline, r.business_date): r.status for r in PipelineRun.objects.all()}
    # Carnival Monday and Tuesday (3–4 March 2025) are ANBIMA holidays: the session is Wednesday.
    assert runs[("eod", END)] == runs[("preopen", date(2025, 3, 5))] == "SUCCESS"
    # Every day the seed marked is in the pipeline history too (one EOD run per NAV day).
    navs = set(NavRecord.objects.values_list("date", flat=True))
    assert {day for (pipeline, day) in runs if pipeline == "eod"} == navs
    assert set(runs.values()) == {"SUCCESS"}
    portfolio = Portfolio.objects.get(code="demo-macro")
    assert due_dates("eod", portfolio, END) == []
    assert "EOD 28/02/2025 ran, pre-open 05/03/2025 ran" in out.getvalue()
    assert RiskSnapshot.objects.filter(date=END).exists()
    assert Limit.objects.count() >= 6 and SignalRule.objects.filter(enabled=True).count() == 3
    assert MorningPack.objects.filter(business_date=date(2025, 3, 5)).exists()

    Portfolio.objects.create(
        code="real-fund", name="A real fund", inception_date=END, initial_nav=Decimal("1000000")
    )
    again = StringIO()
    call_command("seed_demo", "--years", "1", "--end", END.isoformat(), stdout=again)
    assert "EOD 28/02/2025 already-done, pre-open 05/03/2025 already-done" in again.getvalue()
    assert not PipelineRun.objects.filter(portfolio__code="real-fund").exists()
    assert not Limit.objects.filter(portfolio__code="real-fund").exists()
    # A failed last day is re-run alone: the catch-up starts the day after the seed's history.
    PipelineRun.objects.filter(pipeline="eod", business_date=END).update(status="FAILED")
    assert due_dates("eod", portfolio, END) == [END]
