"""The morning pack page on the demo fund: every panel, with the fund's real numbers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.briefings.services import generate_morning_pack
from apps.core.templatetags.pms_format import num, signed
from apps.demo.tests.support import prepare_morning

pytestmark = pytest.mark.django_db


def login(client: Client, username: str) -> Client:
    """Log a demo user in (the demo fund's fixture creates the cast)."""
    client.force_login(User.objects.get(username=username))
    return client


def test_the_page_shows_the_latest_pack_with_every_panel_and_real_numbers(
    demo_fund: Any, client: Client, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.ANTHROPIC_API_KEY = ""
    portfolio, day = demo_fund
    proposal = prepare_morning(portfolio, day)
    pack = generate_morning_pack(portfolio, day)
    facts = pack.facts
    login(client, "pm_alice")

    with django_assert_max_num_queries(15):
        response = client.get("/morning/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Demo Macro FIM" in body and f"{day:%d/%m/%Y}" in body
    assert 'data-testid="source">Template<' in body and "No ANTHROPIC_API_KEY" in body
    for section in ("narrative", "market", "book", "risk", "decisions", "calendar", "quality"):
        testid = section if section == "narrative" else f"panel-{section}"
        assert f'data-testid="{testid}"' in body, section
    assert "Mercado:" in body and "Carteira:" in body  # the narrative's labelled lines
    for vertex in facts["market"]["di1_curve"]:
        assert f"<td>{vertex['vertex']}</td>" in body
        assert num(vertex["rate_pct"], 2) in body
    market = facts["market"]
    assert num(market["usdbrl"]["ptax"], 4) in body
    assert num(market["ibovespa"]["level"], 0) in body
    assert num(market["cdi_pct"], 2) in body and num(market["selic_target_pct"], 2) in body
    book = facts["book"]
    assert f'data-testid="nav">{num(book["nav"], 0)}<' in body
    assert signed(book["day_pnl"], 0) in body and signed(book["ytd_pnl"], 0) in body
    assert f"{signed(book['day_pnl_bps'], 1)}&nbsp;bp" in body
    assert book["top"][0]["ticker"] in body and book["bottom"][0]["ticker"] in body
    risk = facts["risk"]
    assert f"R$ {num(risk['var99'], 0)}" in body and f"R$ {num(risk['es975'], 0)}" in body
    assert signed(risk["worst_stress"]["pnl"], 0) in body and risk["worst_stress"]["name"] in body
    assert f'<a href="/blotter/{proposal.pk}/">#{proposal.pk}</a>' in body
    assert num(facts["proposals"][0]["var99_after"], 0) in body
    assert 'class="neg"' in body or 'class="fig neg"' in body  # losses are coloured
