"""The demo fund's pack as a PDF: WeasyPrint's A4 with the fund's name and NAV."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pypdf import PdfReader

from apps.briefings.services import generate_morning_pack
from apps.briefings.tests.test_pack_pdf import pdf_text
from apps.core.templatetags.pms_format import num
from apps.demo.tests.support import prepare_morning

pytestmark = pytest.mark.django_db


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
