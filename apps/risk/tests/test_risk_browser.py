"""The manager reads the risk monitor and acknowledges an alert, in chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.risk.models import Alert
from apps.risk.tests.support import build_macro_book, snapshot_book

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_the_manager_reads_the_monitor_and_acknowledges_an_alert(
    book_at: Any, pm_alice: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    risk = snapshot_book(build_macro_book(book_at))
    alert = Alert.objects.open().filter(level=Alert.Level.HARD).order_by("-date").first()
    assert alert is not None
    page = login(pm_alice)
    page.goto(f"{live_server.url}/risk/")
    kpis = page.get_by_test_id("kpis")
    expect(kpis).to_contain_text("VaR 99 %")
    expect(kpis).to_contain_text("ES 97.5 %")
    expect(kpis).to_contain_text("short history")
    expect(page.locator("canvas#dv01-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('dv01-chart') !== undefined")
    labels = page.evaluate("() => Chart.getChart('dv01-chart').data.labels")
    assert "252 du (1y)" in labels
    expect(page.get_by_test_id("stress-row")).to_have_count(len(risk.snapshot.report["stress"]))
    expect(page.get_by_test_id("stress-table")).to_contain_text("2002 election")

    first = page.get_by_test_id("stress-row").first
    first.locator("button.toggle").click()
    expect(first.locator("tr.breakdown")).to_be_visible()
    expect(first.locator("tr.breakdown")).to_contain_text("Inflation")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "risk.png"), full_page=True)

    row = page.locator(f"#alert-{alert.pk}")
    row.get_by_role("button", name="Acknowledge").click()  # no note: refused in the row
    expect(row).to_contain_text("needs a note")
    row = page.locator(f"#alert-{alert.pk}")
    row.locator("input[name=note]").fill("Cutting DI1F27 at the open.")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("acknowledged by Alice Manager")
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("Cutting DI1F27 at the open.")
    assert page.locator("header.topbar").count() == 1  # swapped a row, not the page
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert alert.acknowledged_by == pm_alice
    page.locator("#alerts").screenshot(path=str(SHOTS / "risk-alerts.png"))
