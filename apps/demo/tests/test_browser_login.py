"""The demo manager logs in through a real browser (Debian chromium via Playwright)."""

from pathlib import Path

import pytest
from django.conf import settings

from apps.demo.users import ensure_demo_users

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_demo_manager_logs_in_and_sees_the_market(page, live_server) -> None:
    logins = {username: password for username, _role, password in ensure_demo_users()}
    page.goto(f"{live_server.url}/market/")
    assert "/login/" in page.url  # every page requires login
    page.fill("#id_username", "pm_alice")
    page.fill("#id_password", logins["pm_alice"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/market/")
    assert page.get_by_test_id("current-user").inner_text().strip() != ""
    assert page.locator("nav.mainnav a.active").inner_text() == "Market"
    assert page.locator("nav.mainnav").get_by_text("Back office").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "market-empty.png"), full_page=True)


def test_a_wrong_password_keeps_the_manager_out(page, live_server) -> None:
    ensure_demo_users()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "pm_alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").is_visible()
    assert "/login/" in page.url
