"""The manager's 06:00 in chromium: read the pack, regenerate it (htmx), pick a version,
print it (nav and buttons hidden) and download the PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from apps.briefings.models import MorningPack
from apps.briefings.services import generate_morning_pack
from apps.core.templatetags.pms_format import num
from apps.demo.tests.support import prepare_morning
from tests.support import service_missing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def test_the_manager_reads_regenerates_and_prints_the_morning_pack(
    demo_fund: Any, login: Any, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    settings.ANTHROPIC_API_KEY = ""
    portfolio, day = demo_fund
    prepare_morning(portfolio, day)
    pack = generate_morning_pack(portfolio, day)
    nav = num(pack.facts["book"]["nav"], 0)

    page = login(User.objects.get(username="pm_alice"))
    page.wait_for_url("**/morning/")  # home lands on the morning pack
    expect(page.get_by_test_id("narrative")).to_contain_text("Carteira:")
    for panel in ("market", "book", "risk", "decisions", "calendar", "quality"):
        expect(page.get_by_test_id(f"panel-{panel}")).to_be_visible()
    expect(page.get_by_test_id("nav")).to_have_text(nav)
    expect(page.get_by_test_id("di1-curve").locator("tbody tr")).to_have_count(
        len(pack.facts["market"]["di1_curve"])
    )
    expect(page.get_by_test_id("source")).to_have_text("Template")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "morning.png"), full_page=True)

    page.get_by_role("button", name="Regenerate").click()  # htmx POST, then HX-Redirect
    page.wait_for_url("**v=2")
    expect(page.get_by_test_id("version")).to_have_text("2 of 2")
    assert MorningPack.objects.filter(portfolio=portfolio, business_date=day).count() == 2

    page.select_option("#f-version", "1")  # htmx swap of the page body, URL pushed
    page.wait_for_url("**v=1")
    expect(page.get_by_test_id("version")).to_have_text("1 of 2")

    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_test_id("pack-toolbar")).to_be_hidden()
    expect(page.get_by_test_id("panel-market")).to_be_visible()
    page.emulate_media(media="screen")

    pdf_url = page.get_by_test_id("pdf-link").get_attribute("href")
    response = page.request.get(f"{live_server.url}{pdf_url}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "morning.pdf"
    pdf.write_bytes(response.body())
    _first_page_png(pdf, SHOTS / "morning-pdf.png")


def _first_page_png(pdf: Path, png: Path) -> None:
    """Render the PDF's first page for a human to look at (poppler's pdftoppm)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        service_missing("pdftoppm not found (apt-get install poppler-utils)")
        return
    stem = png.with_suffix("")
    subprocess.run(
        [tool, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
        check=True,
        timeout=60,
    )
    assert png.exists() and png.stat().st_size > 10_000
