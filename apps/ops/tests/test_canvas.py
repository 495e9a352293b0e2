"""The EOD and pre-open as one canvas, run in one process (eager mode, `manage.py run_eod`):
the market step once, every fund, the firm step over the funds that succeeded, naming the
ones that failed. The same canvas on real workers: test_canvas_worker.py."""

from __future__ import annotations

import types
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.marketdata.models import Fixing
from apps.marketdata.tests.factories import InstrumentFactory
from apps.ops import stages
from apps.ops.canvas import run_in_process
from apps.ops.models import CanvasRun, PipelineRun
from apps.ops.tests.support import D1, D2, another_fund, long_wdo
from apps.ops.verify import FAIL, run_checks
from apps.positions.models import NavRecord
from apps.risk import history
from apps.risk.models import StoredFactorHistory
from tests.support import Book, BookAt, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(book_at: BookAt, settings: Any) -> list[Book]:
    """Three funds on one market through D2: ALPHA long WDOH25, BRAVO short it, and CHARLIE
    holding WDOJ25 too, which has no settlement on D2 (so CHARLIE fails there)."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.ANTHROPIC_API_KEY = ""
    settings.MORNING_PACK_EMAIL = False
    history.forget()
    alpha = long_wdo(book_at, through=D2)
    alpha.portfolio.code = "ALPHA"
    alpha.portfolio.save()
    InstrumentFactory.create(ticker="WDOJ25")
    alpha.price("WDOJ25", D1, "5580.00")
    bravo = another_fund(alpha, "BRAVO")
    charlie = another_fund(alpha, "CHARLIE", ticker="WDOJ25", qty="2")
    return [alpha, bravo, charlie]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Every factor history built (whoever builds it), by as-of date."""
    built: list[date] = []
    real = history.build_history

    def counted(asof: date, days: int = 252) -> Any:
        built.append(asof)
        return real(asof, days)

    monkeypatch.setattr(history, "build_history", counted)
    return built


def steps_of(fund: Book, day: date) -> dict[str, str]:
    run = PipelineRun.objects.get(portfolio=fund.portfolio, business_date=day)
    return {s.name: s.detail or s.error for s in run.steps.filter(run_attempt=run.attempt)}


def test_the_market_steps_run_once_then_every_fund_then_the_firm_step(
    firm: list[Book], builds: list[date]
) -> None:
    alpha, bravo, charlie = firm
    result = run_in_process("eod", D2, triggered_by="test")

    canvas = result.canvas
    assert [(s["stage"], s["name"], s["status"]) for s in canvas.steps] == [
        ("market", "check_prices", "SUCCESS"),
        ("market", "factor_history", "SUCCESS"),
        ("firm", "consolidated_risk", "SUCCESS"),
        ("firm", "warm_caches", "SUCCESS"),
    ]
    # The funds caught up D1 too: D1's history is theirs; D2's was built once, by the market.
    assert builds.count(D2) == 1 and StoredFactorHistory.objects.get().asof == D2
    assert "unpriced: WDOJ25 (held by CHARLIE" in canvas.steps[0]["detail"]
    for fund in (alpha, bravo):
        steps = steps_of(fund, D2)
        assert steps["check_prices"].endswith("(the market step's check).")
        assert steps["risk"].endswith("factor history the market step's")
    assert steps_of(charlie, D2) == {"check_prices": "StepFailed: Missing on 2025-02-04: WDOJ25."}
    assert not NavRecord.objects.filter(portfolio=charlie.portfolio, date=D2).exists()

    assert (canvas.status, canvas.succeeded) == ("PARTIAL", ["ALPHA", "BRAVO"])
    assert [(f["code"], f["reason"]) for f in canvas.failed] == [
        ("CHARLIE", "2025-02-04: step check_prices: StepFailed: Missing on 2025-02-04: WDOJ25.")
    ]
    assert {f["code"]: f["status"] for f in result.funds} == {
        "ALPHA": "succeeded",
        "BRAVO": "succeeded",
        "CHARLIE": "failed",
    }
    entry = Entry.objects.filter(kind=EntryKind.PIPELINE_RUN).latest("seq")
    assert entry.snapshot["stage"] == "firm" and entry.snapshot["failed"] == ["CHARLIE"]
    assert canvas.journal_seq == entry.seq
    firm_mail = [m for m in mail.outbox if "1 of 3 funds FAILED (CHARLIE)" in m.subject]
    assert len(firm_mail) == 1 and "WDOJ25" in firm_mail[0].body


def test_without_the_days_cdi_the_market_step_fails_alone_and_no_fund_runs(
    firm: list[Book], client: Client, ops_erin: Any
) -> None:
    Fixing.objects.filter(index="CDI", date=D2).delete()
    result = run_in_process("eod", D2, triggered_by="test")

    canvas = result.canvas
    assert canvas.status == "FAILED" and result.funds == []
    assert canvas.error == (
        "market step check_prices: StepFailed: Missing on 2025-02-04: CDI (every fund needs it)."
    )
    assert not PipelineRun.objects.exists()
    assert len(mail.outbox) == 1 and "market step" in mail.outbox[0].subject
    client.force_login(ops_erin)
    html = client.get("/ops/pipelines/").content.decode()
    assert "every fund (market step)" in html and f'href="#canvas-{canvas.pk}"' in html
    check = next(r for r in run_checks("pipelines") if r.check == "last EOD and pre-open")
    assert check.status == FAIL and "eod 2025-02-04 no fund ran: market step" in check.detail


def test_a_market_write_after_the_market_step_makes_each_fund_check_for_itself(
    firm: list[Book], builds: list[date]
) -> None:
    from apps.ops.pipelines import market_priced, run_pipeline

    canvas = stages.start_canvas("eod", D1, [f.portfolio.pk for f in firm], triggered_by="test")
    assert stages.run_market(canvas, progress=print) == "ran"
    assert market_priced(D1) is not None
    firm[0].price("WDOJ25", D2, "5590.00")  # a market write (the ORM's signal bumps it)
    assert market_priced(D1) is None
    run_pipeline("eod", firm[0].portfolio, D1)
    steps = steps_of(firm[0], D1)
    assert steps["check_prices"] == "1 instruments priced; CDI and PTAX present."
    assert steps["risk"].endswith("factor history built for this run")
    assert builds == [D1, D1]  # the market step's, then the fund's own


def test_the_firm_step_hands_the_funds_that_succeeded_to_consolidated_risk(
    firm: list[Book], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], date]] = []

    def consolidated_risk(portfolios: list[Any], day: date) -> Any:
        seen.append(([p.code for p in portfolios], day))
        return types.SimpleNamespace(var99=1234.4)

    monkeypatch.setattr(stages, "consolidated_risk", consolidated_risk)
    canvas = run_in_process("eod", D2, triggered_by="test").canvas
    assert seen == [(["ALPHA", "BRAVO"], D2)]
    detail = next(s["detail"] for s in canvas.steps if s["name"] == "consolidated_risk")
    assert detail == "the combined book of 2 funds; VaR99 1,234"


def test_a_fund_whose_task_crashes_is_named_and_the_others_are_done(
    firm: list[Book], monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.ops import canvas as canvas_module

    real = canvas_module.run_fund

    def crash_bravo(pipeline: str, portfolio_id: int, day: date, **kw: Any) -> Any:
        if portfolio_id == firm[1].portfolio.pk:
            raise RuntimeError("bug in a fund's task")
        return real(pipeline, portfolio_id, day, **kw)

    monkeypatch.setattr(canvas_module, "run_fund", crash_bravo)
    canvas = run_in_process("eod", D2, triggered_by="test").canvas
    assert canvas.succeeded == ["ALPHA"]
    assert {f["code"]: f["reason"] for f in canvas.failed}["BRAVO"] == (
        "RuntimeError: bug in a fund's task"
    )


def test_the_firm_step_after_a_chord_error_reads_the_funds_runs(firm: list[Book]) -> None:
    """The chord's error callback has no results: what succeeded comes from the runs."""
    from apps.ops.tasks import run_firm_after_error

    canvas = stages.start_canvas("eod", D1, [f.portfolio.pk for f in firm], triggered_by="test")
    assert stages.run_market(canvas, progress=print) == "ran"
    from apps.ops.pipelines import run_pipeline

    run_pipeline("eod", firm[0].portfolio, D1)
    status = run_firm_after_error(
        None, RuntimeError("worker lost"), None, canvas_id=canvas.pk, attempt=canvas.attempt
    )
    canvas.refresh_from_db()
    assert status == "PARTIAL" and canvas.succeeded == ["ALPHA"]
    assert [f["reason"] for f in canvas.failed] == [
        "its task did not finish (see the worker's log)"
    ] * 2
    # A late duplicate (the chord's body after all) changes nothing.
    stages.run_firm(canvas, results=[], triggered_by="chord", progress=print)
    assert CanvasRun.objects.get().succeeded == ["ALPHA"]


def test_manage_py_run_eod_runs_the_same_canvas(firm: list[Book]) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="A pipeline failed"):
        call_command("run_eod", "--date", D2.isoformat(), stdout=out)
    text = out.getvalue()
    assert "market 2025-02-04 eod: attempt 1" in text
    assert "market:factor_history" in text
    assert "ALPHA 2025-02-04: ran" in text and "CHARLIE 2025-02-04: failed" in text
    assert "firm 2025-02-04: Some funds failed; failed: CHARLIE" in text
    canvas = CanvasRun.objects.get()
    assert (canvas.triggered_by, canvas.status) == ("manage.py", "PARTIAL")


def test_the_preopen_canvas_expires_once_for_every_fund(firm: list[Book]) -> None:
    run_in_process("eod", D2, triggered_by="test")
    result = run_in_process("preopen", date(2025, 2, 5), triggered_by="test")
    canvas = result.canvas
    assert [(s["stage"], s["name"]) for s in canvas.steps] == [
        ("market", "expire"),
        ("market", "factor_history"),
        ("firm", "warm_caches"),
    ]
    assert "of 2025-02-04: already stored" in canvas.steps[1]["detail"]
    alpha = steps_of(firm[0], date(2025, 2, 5))
    assert alpha["expire"] == "done once for every fund by the market step"
    # CHARLIE has no NAV of 4 Feb: its pre-open has nothing to measure, but it runs.
    assert canvas.status in ("SUCCESS", "PARTIAL")


def test_the_pipelines_page_shows_the_canvas_and_names_the_failed_fund(
    firm: list[Book], client: Client, ops_erin: Any
) -> None:
    canvas = run_in_process("eod", D2, triggered_by="test").canvas
    client.force_login(ops_erin)
    html = client.get("/ops/pipelines/").content.decode()
    assert f'id="canvas-{canvas.pk}"' in html and "Some funds failed" in html
    charlie = PipelineRun.objects.get(portfolio=firm[2].portfolio, business_date=D2)
    assert f'<a href="#run-{charlie.pk}">CHARLIE</a>' in html
    assert "market step&#x27;s check" in html or "market step's check" in html


def test_the_sweep_runs_the_firm_step_of_a_canvas_whose_chord_never_finished(
    firm: list[Book], settings: Any
) -> None:
    """A worker host died with a fund's message: the sweep took the fund's run over, but the
    chord waits for the message (the broker's visibility timeout). Once every fund of the
    canvas has finished, the sweep runs the firm step itself."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.ops.pipelines import run_pipeline
    from apps.ops.tasks import sweep_abandoned

    funds = [f.portfolio.pk for f in firm[:2]]
    canvas = stages.start_canvas("eod", D1, funds, triggered_by="beat")
    assert stages.run_market(canvas, progress=print) == "ran"
    run_pipeline("eod", firm[0].portfolio, D1)
    assert stages.stalled_canvases() == []  # too young, and BRAVO has not run
    CanvasRun.objects.filter(pk=canvas.pk).update(started_at=timezone.now() - timedelta(hours=1))
    assert stages.stalled_canvases() == []  # BRAVO has not run
    run_pipeline("eod", firm[1].portfolio, D1)
    assert [c.pk for c in stages.stalled_canvases()] == [canvas.pk]
    sweep_abandoned.delay().get()
    canvas.refresh_from_db()
    assert (canvas.status, canvas.succeeded) == ("SUCCESS", ["ALPHA", "BRAVO"])
    entry = Entry.objects.filter(kind=EntryKind.PIPELINE_RUN).latest("seq")
    assert entry.snapshot["by"] == "sweep" and canvas.journal_seq == entry.seq
    assert stages.stalled_canvases() == []


def test_without_an_active_fund_the_canvas_ends_at_the_firm_step(firm: list[Book]) -> None:
    from apps.positions.models import Portfolio

    Portfolio.objects.update(active=False)
    canvas = run_in_process("eod", D2, triggered_by="test").canvas
    assert (canvas.status, canvas.funds, canvas.failed) == ("SUCCESS", [], [])
    assert [s["stage"] for s in canvas.steps] == ["market", "market", "firm", "firm"]
    assert not PipelineRun.objects.exists()


def test_the_pipelines_page_names_only_the_failed_funds_the_user_may_see(
    firm: list[Book], client: Client
) -> None:
    alpha, _, charlie = firm
    run_in_process("eod", D2, triggered_by="test")
    client.force_login(make_user("ops_alpha", "ops", funds=[alpha.portfolio]))
    html = client.get("/ops/pipelines/").content.decode()
    assert 'data-testid="canvas-row"' in html  # the day's canvas is shown
    assert "CHARLIE" not in html  # but not the fund that failed, which is not theirs
    client.force_login(make_user("ops_charlie", "ops", funds=[charlie.portfolio]))
    assert "CHARLIE" in client.get("/ops/pipelines/").content.decode()
