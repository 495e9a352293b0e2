"""The risk engine on a small real book: DV01, stress by full revaluation, VaR with short
history, excluded positions, limits → alerts, what-if."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from apps.journal.models import Entry, EntryKind
from apps.marketdata.calendar import business_days, business_days_between
from apps.marketdata.models import Instrument
from apps.marketdata.pricing import di1_pu
from apps.positions.mtm import catch_up
from apps.risk.models import Alert, Limit, StressScenario
from apps.risk.services import acknowledge_alert, compute_report, run_risk, stress_pnl_for

pytestmark = pytest.mark.django_db
DAYS = business_days_between(date(2025, 1, 2), date(2025, 2, 14))
DI1F27 = date(2027, 1, 4)


@pytest.fixture
def risky_book(book_at):
    book = book_at(DAYS[0], "DI1F27", "WDOH25")
    rng = np.random.default_rng(7)
    rate, wdo = Decimal("0.15000"), Decimal("6100.0")
    for day in DAYS:
        rate += Decimal(int(rng.integers(-8, 9))) / Decimal(100000)
        wdo = (wdo * Decimal(str(1 + rng.normal(0, 0.008)))).quantize(Decimal("0.5"))
        book.price("DI1F27", day, str(di1_pu(rate, business_days(day, DI1F27))), str(rate))
        book.price("WDOH25", day, str(wdo))
        book.fix("CDI", day, "0.1315")
        book.fix("PTAX_SELL", day, str((wdo / 1000).quantize(Decimal("0.0001"))))
    book.trade("DI1F27", "BUY", "500", DAYS[0], rate="0.15000")
    book.trade("WDOH25", "SELL", "40", DAYS[0], price="6100.0")
    catch_up(book.portfolio, DAYS[-1])
    return book


def test_dv01_of_a_di1_position_is_di1_dv01_times_contracts(risky_book) -> None:
    from apps.marketdata.pricing import di1_dv01

    report = compute_report(risky_book.portfolio, DAYS[-1])
    price = Instrument.objects.get(ticker="DI1F27").prices.get(date=DAYS[-1])
    assert price.rate is not None
    expected = -di1_dv01(price.rate, business_days(DAYS[-1], DI1F27)) * 500
    assert Decimal(str(report.dv01_total)) == expected.quantize(Decimal("0.01"))
    assert sum(report.dv01_ladder["di"].values()) == pytest.approx(float(expected), abs=0.02)


def test_a_100bp_stress_equals_full_revaluation_to_the_cent(risky_book) -> None:
    price = Instrument.objects.get(ticker="DI1F27").prices.get(date=DAYS[-1])
    assert price.rate is not None
    du = business_days(DAYS[-1], DI1F27)
    expected = (di1_pu(price.rate + Decimal("0.01"), du) - di1_pu(price.rate, du)) * 500
    scenario = StressScenario.objects.get(code="di-up-100")
    assert stress_pnl_for(risky_book.portfolio, DAYS[-1], scenario, "DI1F27") == expected


def test_short_history_is_computed_and_flagged(risky_book) -> None:
    report = compute_report(risky_book.portfolio, DAYS[-1])
    assert report.scenarios == len(DAYS) - 1
    assert report.var99 > 0 and report.es975 >= report.var99
    assert any("Only" in w and "days of factor history" in w for w in report.warnings)
    assert sum(report.component_var99.values()) == pytest.approx(report.var99)


def test_a_position_without_a_mark_is_excluded_and_listed(risky_book) -> None:
    from apps.positions.tests.factories import StrategyFactory

    other = StrategyFactory.create(portfolio=risky_book.portfolio, code="fx")
    risky_book.trade("WDOH25", "BUY", "5", DAYS[-1], price="6000", strategy=other)
    report = compute_report(risky_book.portfolio, DAYS[-1])
    assert report.positions == 2
    assert any("has no mark" in w for w in report.warnings)


def test_run_risk_raises_journaled_alerts_and_they_are_acknowledged(risky_book, cio_bob) -> None:
    Limit.objects.create(
        portfolio=risky_book.portfolio, metric="DV01", warning_level=1, hard_level=2
    )
    snapshot = run_risk(risky_book.portfolio, DAYS[-1])
    assert snapshot.report["limits"][0]["level"] == "hard"
    alert = Alert.objects.get()
    assert alert.level == Alert.Level.HARD
    assert Entry.objects.filter(kind=EntryKind.LIMIT_ALERT).count() == 1
    run_risk(risky_book.portfolio, DAYS[-1])  # idempotent: no second alert
    assert Alert.objects.count() == 1
    with pytest.raises(Exception, match="needs a note"):
        acknowledge_alert(alert, by=cio_bob, note=" ")
    acknowledged = acknowledge_alert(alert, by=cio_bob, note="Cutting DI1F27 at the open.")
    assert acknowledged.status == Alert.Status.ACKNOWLEDGED
    assert Entry.objects.filter(kind=EntryKind.ALERT_ACKNOWLEDGED).count() == 1
