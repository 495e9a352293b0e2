"""E-mail on generation (MORNING_PACK_EMAIL): the managers with an address get the narrative."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core import mail

from apps.briefings.services import generate_morning_pack
from apps.positions.models import Portfolio
from apps.positions.tests.factories import PortfolioFactory
from tests.support import make_user

pytestmark = pytest.mark.django_db

FRIDAY = date(2025, 5, 2)


@pytest.fixture
def fund(settings: Any) -> Portfolio:
    settings.ANTHROPIC_API_KEY = ""
    settings.MORNING_PACK_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return PortfolioFactory.create(code="macro", name="Macro FIM")


def test_the_managers_with_an_address_get_one_message_with_the_narrative(fund: Portfolio) -> None:
    make_user("pm_alice", "manager", email="alice@example.com")
    make_user("pm_zoe", "manager", email="zoe@example.com")
    make_user("pm_nomail", "manager")
    make_user("pm_gone", "manager", email="gone@example.com", is_active=False)
    make_user("cio_bob", "approver", email="bob@example.com")

    pack = generate_morning_pack(fund, FRIDAY)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Morning pack 02/05/2025 — Macro FIM"
    assert message.body == pack.narrative and "Qualidade dos dados" in message.body
    assert sorted(message.to) == ["alice@example.com", "zoe@example.com"]


def test_nothing_is_sent_when_no_manager_has_an_address(fund: Portfolio) -> None:
    make_user("pm_alice", "manager")
    make_user("cio_bob", "approver", email="bob@example.com")
    generate_morning_pack(fund, FRIDAY)
    assert mail.outbox == []


def test_nothing_is_sent_when_the_setting_is_off(fund: Portfolio, settings: Any) -> None:
    settings.MORNING_PACK_EMAIL = False
    make_user("pm_alice", "manager", email="alice@example.com")
    generate_morning_pack(fund, FRIDAY)
    assert mail.outbox == []


def test_each_regeneration_sends_its_own_message(fund: Portfolio, client: Any) -> None:
    alice = make_user("pm_alice", "manager", email="alice@example.com")
    client.force_login(alice)
    client.post("/morning/2025-05-02/generate/")
    client.post("/morning/2025-05-02/generate/")
    assert [m.subject for m in mail.outbox] == ["Morning pack 02/05/2025 — Macro FIM"] * 2
