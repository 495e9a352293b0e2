"""manage.py run_attribution: stores one snapshot per fund and date, idempotently."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.attribution.models import PerformanceSnapshot
from apps.attribution.tests.test_attribution_page import golden_fund
from apps.attribution.tests.test_golden_book import DAYS
from apps.positions.tests.factories import PortfolioFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund(book_at: Any, pm_alice: Any) -> Any:
    return golden_fund(book_at, pm_alice)


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("run_attribution", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_stores_the_standard_periods_for_the_date(fund) -> None:
    out, _ = _run("--date", "2025-02-14", "--portfolio", fund.code)
    snapshot = PerformanceSnapshot.objects.get(portfolio=fund, date=DAYS[-1])
    assert set(snapshot.periods) == {"mtd", "qtd", "ytd", "12m", "itd"}
    itd = snapshot.periods["itd"]
    assert round(itd["twr"] * 10000, 2) == 285.96 and itd["pnl"] == "34765.88"
    assert f"{fund.code} 2025-02-14: YTD +2.86% (% of CDI n/a: 10 daily returns" in out
    assert "need at least 21), P&L +34,765.88" in out
    assert itd["pct_cdi"] is None and itd["sharpe"] is None and "10 daily" in itd["na_reason"]


def test_with_enough_returns_it_prints_the_share_of_cdi(fund, settings) -> None:
    settings.STATS_MIN_RETURNS = 10
    out, _ = _run("--date", "2025-02-14", "--portfolio", fund.code)
    assert f"{fund.code} 2025-02-14: YTD +2.86% (634% of CDI), P&L +34,765.88" in out


def test_it_is_idempotent(fund) -> None:
    _run("--date", "2025-02-14", "--portfolio", fund.code)
    first = PerformanceSnapshot.objects.get(portfolio=fund, date=DAYS[-1])
    _run("--date", "2025-02-14", "--portfolio", fund.code)
    again = PerformanceSnapshot.objects.get(portfolio=fund, date=DAYS[-1])
    assert PerformanceSnapshot.objects.count() == 1
    assert again.pk == first.pk and again.periods == first.periods
    assert again.computed_at >= first.computed_at


def test_an_earlier_date_stores_the_periods_as_of_then(fund) -> None:
    _run("--date", "2025-02-07", "--portfolio", fund.code)
    itd = PerformanceSnapshot.objects.get(portfolio=fund, date=DAYS[4]).periods["itd"]
    assert itd["end"] == "2025-02-07" and itd["days"] == 5


def test_without_a_date_it_takes_the_last_marked_day(fund) -> None:
    _run("--portfolio", fund.code)
    assert PerformanceSnapshot.objects.filter(portfolio=fund, date=DAYS[-1]).exists()


def test_a_fund_without_marks_fails_clearly(fund) -> None:
    PortfolioFactory.create(code="fresh", name="Fresh fund")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"Attribution failed for 1 portfolio\(s\)"):
        call_command("run_attribution", "--date", "2025-02-14", stdout=out, stderr=err)
    assert "fresh: Fresh fund has no marked days yet" in err.getvalue()
    assert f"{fund.code} 2025-02-14" in out.getvalue()  # the other fund still ran
    assert not PerformanceSnapshot.objects.filter(portfolio__code="fresh").exists()
    assert PerformanceSnapshot.objects.filter(portfolio=fund).count() == 1


def test_an_unknown_portfolio_is_refused(fund) -> None:
    with pytest.raises(CommandError, match="No active portfolio with code 'nope'"):
        _run("--portfolio", "nope")
