"""The demo fund's pack: every section with real numbers; versions; journal; command."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.briefings.grounding import ungrounded
from apps.briefings.models import MorningPack
from apps.briefings.services import generate_morning_pack
from apps.briefings.tests.support import FakeAnthropic
from apps.journal.models import Entry, EntryKind
from apps.marketdata.models import Instrument
from apps.positions.models import NavRecord, Position
from apps.proposals.services import Terms, create_proposal
from apps.risk.services import ensure_default_limits, run_risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def morning(demo_fund):
    from django.contrib.auth.models import User

    cio_bob = User.objects.get(username="cio_bob")
    portfolio, day = demo_fund
    last = NavRecord.objects.filter(portfolio=portfolio).latest("date")
    ensure_default_limits(portfolio)
    run_risk(portfolio, last.date)
    strategy = portfolio.strategies.get(code="rates-br")
    held = Position.objects.open().filter(portfolio=portfolio, instrument__kind="DI1").first()
    assert held is not None
    create_proposal(
        portfolio=portfolio,
        strategy=strategy,
        instrument=held.instrument,
        terms=Terms("BUY", Decimal("100")),
        rationale="Add to the receiver.",
        business_date=day,
        by=cio_bob,
    )
    return portfolio, day, last


def test_the_demo_pack_has_every_section_with_real_numbers(morning, settings) -> None:
    settings.ANTHROPIC_API_KEY = ""
    portfolio, day, last = morning
    pack = generate_morning_pack(portfolio, day)
    facts = pack.facts
    assert facts["asof"] == last.date.isoformat()
    assert facts["book"]["nav"] == round(float(last.nav_close), 0)
    assert len(facts["market"]["di1_curve"]) >= 6
    assert facts["market"]["usdbrl"]["ptax"] > 4
    assert facts["market"]["cdi_pct"] > 5 and facts["market"]["ipca"]["monthly_pct"] is not None
    assert facts["market"]["offshore"] and facts["market"]["biggest_moves"]
    assert facts["book"]["open_positions"] >= 15
    assert facts["risk"]["var99"] > 0 and facts["risk"]["worst_stress"]["pnl"] < 0
    assert facts["proposals"][0]["var99_after"] > 0
    assert {e["kind"] for e in facts["calendar"]} <= {"COPOM", "IPCA", "FOMC", "OTHER"}
    assert isinstance(facts["data_quality"], list)
    assert pack.source == "template"
    assert ungrounded(pack.narrative, facts, pack.language) == []
    for heading in ("Mercado", "Carteira", "Risco", "Decisões de hoje", "Qualidade dos dados"):
        assert heading in pack.narrative


def test_each_generation_is_a_new_journaled_version(morning) -> None:
    portfolio, day, _ = morning
    wrong = FakeAnthropic(text="O PL é R$ 123.456,78.")
    first = generate_morning_pack(portfolio, day, client=wrong)
    second = generate_morning_pack(portfolio, day, client=FakeAnthropic(error=TimeoutError("t")))
    assert (first.version, second.version) == (1, 2)
    assert "not in the facts" in first.rejection_reason
    assert "TimeoutError" in second.rejection_reason
    assert len(first.prompt_hash) == 64 and first.timings["facts_ms"] >= 0
    assert Entry.objects.filter(kind=EntryKind.MORNING_PACK, portfolio_id=portfolio.pk).count() == 2


def test_a_grounded_llm_text_is_stored_as_llm(morning) -> None:
    portfolio, day, _ = morning
    from apps.briefings.facts import build_facts

    nav = build_facts(portfolio, day)["book"]["nav"]
    text = f"The fund's NAV is R$ {nav:,.0f}."
    pack = generate_morning_pack(portfolio, day, client=FakeAnthropic(text=text), language="en")
    assert (pack.source, pack.narrative, pack.rejection_reason) == ("llm", text, "")


def test_generate_morning_pack_command(morning, settings) -> None:
    settings.ANTHROPIC_API_KEY = ""
    portfolio, day, _ = morning
    out = StringIO()
    call_command("generate_morning_pack", "--date", day.isoformat(), stdout=out)
    assert "version 1, template narrative (No ANTHROPIC_API_KEY" in out.getvalue()
    assert MorningPack.objects.filter(portfolio=portfolio, business_date=day).count() == 1
    assert Instrument.objects.exists()
