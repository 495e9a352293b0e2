"""The pack as a PDF: WeasyPrint's A4 with real text, a clear 503 without its libraries."""

from __future__ import annotations

import io
import sys
import types
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pypdf import PdfReader

from apps.briefings.services import generate_morning_pack
from apps.briefings.tests.test_pack_page import prepare_morning
from apps.core.templatetags.pms_format import num
from apps.positions.models import Portfolio
from apps.positions.tests.factories import PortfolioFactory
from conftest import make_user

pytestmark = pytest.mark.django_db

FRIDAY = date(2025, 5, 2)


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.fixture
def fund(settings: Any) -> Portfolio:
    settings.ANTHROPIC_API_KEY = ""
    return PortfolioFactory(code="macro", name="Macro FIM")


def test_the_demo_pack_pdf_is_an_a4_document_with_the_fund_and_its_nav(
    demo_fund: Any, client: Client, settings: Any
) -> None:
    settings.ANTHROPIC_API_KEY = ""
    portfolio, day = demo_fund
    prepare_morning(portfolio, day)
    pack = generate_morning_pack(portfolio, day)
    client.force_login(User.objects.get(username="viewer_dan"))

    response = client.get(f"/morning/{day:%Y-%m-%d}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="morning-pack-demo-macro-{day:%Y-%m-%d}-v1.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    pages, text = pdf_text(response.content)
    assert pages >= 1
    width, height = PdfReader(io.BytesIO(response.content)).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (595, 842)  # A4 in points
    assert "Demo Macro FIM" in text
    assert num(pack.facts["book"]["nav"], 0) in text
    assert f"Page 1 of {pages}" in text  # the @page footer
    for heading in ("Briefing", "Market", "Book", "Risk", "Decisions", "Data quality"):
        assert heading in text, heading


def test_a_version_can_be_printed_and_a_missing_pack_is_a_clear_404(
    fund: Portfolio, client: Client
) -> None:
    generate_morning_pack(fund, FRIDAY)
    generate_morning_pack(fund, FRIDAY, language="en")
    client.force_login(make_user("viewer_dan", "viewer"))
    first = client.get("/morning/2025-05-02/pdf/?v=1")
    assert first.status_code == 200
    assert "v1.pdf" in first["Content-Disposition"]
    assert "Qualidade dos dados" in pdf_text(first.content)[1]  # v1 is the pt-BR one
    missing = client.get("/morning/2025-05-05/pdf/")
    assert missing.status_code == 404
    assert "There is no morning pack for 05/05/2025 to print." in missing.content.decode()
    assert client.get("/morning/2025-02-30/pdf/").status_code == 404


@pytest.mark.parametrize(
    "broken",
    [None, "oserror"],
    ids=["weasyprint-not-installed", "pango-missing"],
)
def test_without_weasyprint_or_pango_the_pdf_is_a_503_naming_the_packages(
    fund: Portfolio, client: Client, monkeypatch: Any, broken: str | None
) -> None:
    generate_morning_pack(fund, FRIDAY)
    if broken is None:
        monkeypatch.setitem(sys.modules, "weasyprint", None)  # "import weasyprint" fails
    else:
        module = types.ModuleType("weasyprint")

        def unloadable(name: str) -> Any:
            raise OSError("cannot load library 'libpango-1.0-0': error 0x7e")

        module.__getattr__ = unloadable  # type: ignore[method-assign]
        monkeypatch.setitem(sys.modules, "weasyprint", module)
    client.force_login(make_user("viewer_dan", "viewer"))

    response = client.get("/morning/2025-05-02/pdf/")

    assert response.status_code == 503
    body = response.content.decode()
    assert "The PDF cannot be produced on this server" in body
    assert "libpango-1.0-0 libpangoft2-1.0-0" in body
    assert 'href="/morning/2025-05-02/"' in body


def test_the_pdf_prints_the_journal_head_the_pack_anchored(fund: Portfolio, client: Client) -> None:
    pack = generate_morning_pack(fund, FRIDAY)
    client.force_login(make_user("viewer_dan", "viewer"))

    response = client.get("/morning/2025-05-02/pdf/")

    assert response.status_code == 200
    text = " ".join(pdf_text(response.content)[1].split())
    assert f"#{pack.journal_seq}" in text
    assert pack.journal_hash[:32] in text.replace(" ", "")
