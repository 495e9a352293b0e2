"""The pipelines page: runs and steps, re-run and run-now, the failure banner, who may act."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_pipeline
from apps.ops.tests.support import long_wdo
from apps.positions.models import NavRecord, Portfolio
from tests.support import make_user

pytestmark = pytest.mark.django_db

D1, D2, BAD = date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)
PAGE = "/ops/pipelines/"


@pytest.fixture
def fund(book_at: Any, settings: Any) -> Any:
    """Prices for D1 and D2 only: the EOD of BAD (5 Feb) fails at check_prices."""
    settings.PIPELINE_RETRY_DELAYS = [0, 0]
    return long_wdo(book_at, through=D2)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_runs_newest_first_with_their_steps(fund: Any, ops_erin: Any) -> None:
    run_pipeline("eod", fund.portfolio, D1, triggered_by="beat")
    run_pipeline("eod", fund.portfolio, D2, triggered_by="manage.py")
    response = as_user(ops_erin).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="run-row"') == 2
    assert html.index("Tue 04/02/2025") < html.index("Mon 03/02/2025")  # newest first
    assert html.count('data-testid="step-row"') == 14  # seven steps each
    for text in ("check_prices", "warm_caches", "Succeeded", "manage.py", fund.portfolio.code):
        assert text in html
    assert 'data-testid="rerun-form"' in html


def test_a_failure_shows_the_banner_everywhere_until_a_rerun_succeeds(
    fund: Any, pm_alice: Any, viewer_dan: Any
) -> None:
    failed = run_pipeline("eod", fund.portfolio, BAD).run
    assert failed is not None and failed.status == PipelineRun.Status.FAILED
    manager = as_user(pm_alice)
    for url in ("/journal/", "/book/", PAGE):
        html = manager.get(url).content.decode()
        assert 'data-testid="pipeline-banner"' in html, url
    assert "1 pipeline run failed" in html and "Missing on 2025-02-05: WDOH25" in html
    assert (
        'data-testid="pipeline-banner"' not in as_user(viewer_dan).get("/journal/").content.decode()
    )

    fund.market_day("WDOH25", BAD, "5560.00")
    response = manager.post(f"/ops/pipelines/{failed.pk}/rerun/", follow=True)
    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.status, failed.attempt, failed.triggered_by) == ("SUCCESS", 2, "pm_alice")
    assert NavRecord.objects.filter(portfolio=fund.portfolio, date=BAD).exists()
    assert 'data-testid="pipeline-banner"' not in manager.get("/journal/").content.decode()


def test_a_rerun_runs_again_and_is_journaled(fund: Any, ops_erin: Any) -> None:
    run = run_pipeline("eod", fund.portfolio, D1).run
    assert run is not None
    before = Entry.objects.filter(kind=EntryKind.PIPELINE_RUN).count()

    response = as_user(ops_erin).post(f"/ops/pipelines/{run.pk}/rerun/")

    assert response.status_code == 302 and response["Location"].endswith(f"#run-{run.pk}")
    run.refresh_from_db()
    assert (run.status, run.attempt, run.triggered_by) == ("SUCCESS", 2, "ops_erin")
    assert run.steps.filter(run_attempt=2).count() == 7
    entry = Entry.objects.filter(kind=EntryKind.PIPELINE_RUN).latest("seq")
    assert Entry.objects.filter(kind=EntryKind.PIPELINE_RUN).count() == before + 1
    assert entry.snapshot["attempt"] == 2 and entry.portfolio_id == fund.portfolio.pk
    html = as_user(ops_erin).get(PAGE).content.decode()
    assert "ops_erin" in html


def test_run_eod_now_catches_up_to_the_date(fund: Any, ops_erin: Any) -> None:
    response = as_user(ops_erin).post(
        "/ops/pipelines/run/", {"pipeline": "eod", "date": D2.isoformat()}, follow=True
    )
    assert response.status_code == 200
    runs = PipelineRun.objects.order_by("business_date")
    assert [(r.business_date, r.status, r.triggered_by) for r in runs] == [
        (D1, "SUCCESS", "ops_erin"),
        (D2, "SUCCESS", "ops_erin"),
    ]
    assert "ran" in response.content.decode()
    bad = as_user(ops_erin).post("/ops/pipelines/run/", {"pipeline": "eod", "date": "x"})
    assert bad.status_code == 302 and PipelineRun.objects.count() == 2


def test_with_a_broker_the_page_enqueues_instead(
    fund: Any, ops_erin: Any, settings: Any, monkeypatch: Any
) -> None:
    from apps.ops import tasks

    run = run_pipeline("eod", fund.portfolio, D1).run
    assert run is not None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(tasks.rerun_pipeline, "delay", lambda *a: sent.append(("one", a)))
    monkeypatch.setattr(tasks.run_eod, "delay", lambda *a: sent.append(("all", a)))
    client = as_user(ops_erin)
    client.post(f"/ops/pipelines/{run.pk}/rerun/")
    client.post("/ops/pipelines/run/", {"pipeline": "eod", "date": D2.isoformat()})
    rerun = ("eod", fund.portfolio.pk, "2025-02-03", "ops_erin")
    assert sent == [("one", rerun), ("all", ("2025-02-04",))]
    run.refresh_from_db()
    assert run.attempt == 1  # nothing ran in the request


def test_a_viewer_can_neither_open_nor_rerun(
    fund: Any, viewer_dan: Any, cio_bob: Any, pm_alice: Any
) -> None:
    run = run_pipeline("eod", fund.portfolio, D1).run
    assert run is not None
    for user in (viewer_dan, cio_bob):
        client = as_user(user)
        assert client.get(PAGE).status_code == 403
        assert client.post(f"/ops/pipelines/{run.pk}/rerun/").status_code == 403
        assert (
            client.post(
                "/ops/pipelines/run/", {"pipeline": "eod", "date": "2025-02-04"}
            ).status_code
            == 403
        )
        assert 'href="/ops/pipelines/"' not in client.get("/journal/").content.decode()
    run.refresh_from_db()
    assert run.attempt == 1 and PipelineRun.objects.count() == 1
    assert 'href="/ops/pipelines/"' in as_user(pm_alice).get("/journal/").content.decode()
    assert as_user(pm_alice).get(f"/ops/pipelines/{run.pk}/rerun/").status_code == 405


def test_the_queued_rerun_task_runs_again_after_a_success(fund: Any) -> None:
    from apps.ops.tasks import rerun_pipeline

    run = run_pipeline("eod", fund.portfolio, D1).run
    assert run is not None and run.status == PipelineRun.Status.SUCCESS
    assert rerun_pipeline.delay("eod", fund.portfolio.pk, D1.isoformat(), "ops_erin").get() == "ran"
    run.refresh_from_db()
    assert run.attempt == 2 and run.triggered_by == "ops_erin"


SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    ("clock", "reason"),
    [
        (time(15, 0), "has not closed yet"),  # before EOD_NOT_BEFORE (18:00)
        (time(18, 30), "no B3 settlement"),  # after it, but nothing published for the day
    ],
)
def test_run_eod_now_before_the_market_closed_is_refused_without_a_failed_run(
    fund: Any, ops_erin: Any, clock: time, reason: str
) -> None:
    from apps.ops.pipelines import unresolved_failed_runs
    from apps.ops.tasks import run_eod

    with time_machine.travel(datetime.combine(BAD, clock, tzinfo=SAO_PAULO), tick=False):
        response = as_user(ops_erin).post(
            "/ops/pipelines/run/", {"pipeline": "eod", "date": BAD.isoformat()}, follow=True
        )
        assert reason in response.content.decode()
        assert run_eod.delay(BAD.isoformat()).get() == []  # the task refuses it too
    assert not PipelineRun.objects.filter(business_date=BAD).exists()
    assert not unresolved_failed_runs().exists()  # no red banner on anyone's pages


def test_manage_py_run_eod_before_the_close_runs_through_the_last_closed_day(fund: Any) -> None:
    """The command agrees with the page and the task: with no --date, before the close it runs
    through the previous business day; an explicit --date of today is refused, nothing runs."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    with time_machine.travel(datetime.combine(BAD, time(11, 0), tzinfo=SAO_PAULO), tick=False):
        call_command("run_eod", stdout=out)
        with pytest.raises(CommandError, match="has not closed yet"):
            call_command("run_eod", "--date", BAD.isoformat(), stdout=StringIO())
    assert "Running through 04/02/2025, the last closed day." in out.getvalue()
    assert set(PipelineRun.objects.values_list("business_date", flat=True)) == {D1, D2}
    assert not PipelineRun.objects.filter(business_date=BAD).exists()


def test_the_banner_names_only_the_funds_the_user_may_see(fund: Any, pm_alice: Any) -> None:
    """Fund B's failed run is not shown (nor named) to a manager granted only fund A."""
    failed = run_pipeline("eod", fund.portfolio, BAD).run
    assert failed is not None and failed.status == PipelineRun.Status.FAILED
    other = Portfolio.objects.create(
        code="OTHER", name="Other fund", inception_date=D1, initial_nav=Decimal("1000000")
    )
    granted_a = make_user("pm_only_other", "manager", funds=[other])

    html = as_user(granted_a).get("/journal/").content.decode()
    assert 'data-testid="pipeline-banner"' not in html
    assert fund.portfolio.code not in html
    page = as_user(granted_a).get(PAGE).content.decode()
    assert fund.portfolio.code not in page and "1 pipeline run failed" not in page
    assert 'data-testid="pipeline-banner"' in as_user(pm_alice).get("/journal/").content.decode()
