"""The firm view in chromium over the demo's three funds: the PM sees all three and the
diversified risk, drills into one fund's book; the approver, granted only the flagship, sees
only it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from apps.demo.users import ensure_demo_grants

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_the_pm_reads_the_firm_and_drills_into_a_fund(
    demo_fund: Any, login: Any, live_server: Any
) -> None:
    from playwright.sync_api import expect

    ensure_demo_grants()
    page = login(User.objects.get(username="pm_alice"))
    page.get_by_role("link", name="Firm", exact=True).click()
    page.wait_for_url("**/firm/")
    table = page.get_by_test_id("funds-table")
    expect(table.locator("tr[data-fund]")).to_have_count(3)
    expect(page.get_by_test_id("firm-total")).to_contain_text("Firm")
    expect(page.get_by_test_id("kpi-diversification")).to_contain_text("Diversification")
    page.wait_for_function("() => window.Chart && Chart.getChart('firm-dv01') !== undefined")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "firm.png"), full_page=True)

    table.get_by_role("link", name="Demo Macro Qualificado FIM").click()
    page.wait_for_url("**/book/?portfolio=demo-macro-qi")
    expect(page.get_by_test_id("book-table")).to_be_visible()


def test_the_approver_sees_only_the_flagship(demo_fund: Any, login: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    ensure_demo_grants()
    page = login(User.objects.get(username="cio_bob"))
    page.goto(f"{live_server.url}/firm/")
    rows = page.get_by_test_id("funds-table").locator("tr[data-fund]")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Demo Macro FIM")
