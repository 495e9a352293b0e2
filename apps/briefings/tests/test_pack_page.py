"""The morning pack page: the latest pack with every panel, past dates and versions, the empty
state with Generate (new versions), who may generate, and dates that are not dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.briefings.models import MorningPack
from apps.briefings.services import generate_morning_pack
from apps.briefings.tests.conftest import FakeAnthropic
from apps.core.templatetags.pms_format import num, signed
from apps.positions.models import NavRecord, Portfolio, Position
from apps.positions.tests.factories import PortfolioFactory
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, create_proposal
from apps.risk.services import ensure_default_limits, run_risk
from conftest import make_user

pytestmark = pytest.mark.django_db

FRIDAY, SATURDAY, MONDAY = date(2025, 5, 2), date(2025, 5, 3), date(2025, 5, 5)


def prepare_morning(portfolio: Portfolio, day: date) -> Proposal:
    """What the pre-open run leaves before the pack: a risk snapshot and a pending proposal."""
    last = NavRecord.objects.filter(portfolio=portfolio).latest("date").date
    ensure_default_limits(portfolio)
    run_risk(portfolio, last)
    held = Position.objects.open().filter(portfolio=portfolio, instrument__kind="DI1").first()
    assert held is not None
    return create_proposal(
        portfolio=portfolio,
        strategy=portfolio.strategies.get(code="rates-br"),
        instrument=held.instrument,
        terms=Terms("BUY", Decimal("100")),
        rationale="Add to the receiver.",
        business_date=day,
        by=User.objects.get(username="cio_bob"),
    )


@pytest.fixture
def fund(settings: Any) -> Portfolio:
    """A fund without marks: its packs are quick to generate (facts say there is no book)."""
    settings.ANTHROPIC_API_KEY = ""
    return PortfolioFactory(code="macro", name="Macro FIM")


def _user(username: str, role: str) -> User:
    return make_user(username, role)


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


def test_the_latest_page_points_to_the_past_day_and_versions_are_selectable(
    fund: Portfolio, client: Client
) -> None:
    generate_morning_pack(fund, FRIDAY)
    generate_morning_pack(fund, FRIDAY)
    generate_morning_pack(fund, MONDAY, language="en")
    client.force_login(_user("viewer_dan", "viewer"))

    latest = client.get("/morning/").content.decode()
    assert "Mon 05/05/2025" in latest and 'data-testid="version">1 of 1<' in latest

    past = client.get("/morning/2025-05-02/")
    assert past.status_code == 200
    body = past.content.decode()
    assert 'data-testid="version">2 of 2<' in body
    assert 'data-testid="version-select"' in body and '<option value="1">v1</option>' in body
    assert past.context["pack"].version == 2

    first = client.get("/morning/2025-05-02/?v=1")
    assert first.context["pack"].version == 1
    assert 'data-testid="version">1 of 2<' in first.content.decode()

    missing = client.get("/morning/2025-05-02/?v=9")
    assert missing.status_code == 200 and missing.context["pack"].version == 2
    assert "no version &#x27;9&#x27;" in missing.content.decode()


def test_an_empty_day_offers_generate_and_each_click_is_a_new_version(
    fund: Portfolio, client: Client
) -> None:
    client.force_login(_user("pm_alice", "manager"))
    empty = client.get("/morning/2025-05-05/")
    assert empty.status_code == 200
    body = empty.content.decode()
    assert 'data-testid="pack-empty"' in body and "No morning pack for Monday 05/05/2025" in body
    assert 'action="/morning/2025-05-05/generate/"' in body and 'hx-indicator="#generating' in body

    first = client.post("/morning/2025-05-05/generate/", {"portfolio": "macro"})
    assert first.status_code == 302 and first["Location"] == "/morning/2025-05-05/?v=1"
    again = client.post(
        "/morning/2025-05-05/generate/", {"portfolio": "macro"}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 204 and again["HX-Redirect"] == "/morning/2025-05-05/?v=2"

    packs = MorningPack.objects.filter(portfolio=fund, business_date=MONDAY)
    assert list(packs.values_list("version", "created_by__username")) == [
        (2, "pm_alice"),
        (1, "pm_alice"),
    ]
    shown = client.get("/morning/2025-05-05/").content.decode()
    assert 'data-testid="version">2 of 2<' in shown and ">Regenerate<" in shown
    assert "Version 2 generated with the template narrative." in shown  # the flash message


@pytest.mark.parametrize("role", ["approver", "ops"])
def test_approvers_and_ops_may_generate_too(fund: Portfolio, client: Client, role: str) -> None:
    client.force_login(_user(f"a_{role}", role))
    assert client.post("/morning/2025-05-05/generate/").status_code == 302
    assert MorningPack.objects.filter(portfolio=fund).count() == 1


@pytest.mark.parametrize("role", ["viewer", "back_office"])
def test_other_roles_see_no_generate_button_and_are_refused(
    fund: Portfolio, client: Client, role: str
) -> None:
    generate_morning_pack(fund, FRIDAY)
    client.force_login(_user(f"a_{role}", role))
    existing = client.get("/morning/2025-05-02/").content.decode()
    empty = client.get("/morning/2025-05-05/").content.decode()
    assert "Regenerate" not in existing and 'data-testid="generate"' not in empty
    assert "A manager, an approver or ops generates it" in empty
    response = client.post("/morning/2025-05-05/generate/", {"portfolio": "macro"})
    assert response.status_code == 403
    assert MorningPack.objects.count() == 1


def test_a_non_business_day_has_no_pack_and_cannot_get_one(fund: Portfolio, client: Client) -> None:
    client.force_login(_user("pm_alice", "manager"))
    body = client.get("/morning/2025-05-03/").content.decode()
    assert "is not an ANBIMA business day" in body and 'data-testid="generate"' not in body
    assert 'href="/morning/2025-05-02/"' in body and 'href="/morning/2025-05-05/"' in body
    response = client.post("/morning/2025-05-03/generate/", follow=True)
    assert "2025-05-03 is not an ANBIMA business day." in response.content.decode()
    assert not MorningPack.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/morning/2025-13-40/",
        "/morning/yesterday/",
        "/morning/?date=05-05-2025",
        "/morning/9999-12-31/",
        "/morning/0001-01-01/pdf/",
    ],
)
def test_a_date_that_is_not_a_date_is_a_404_that_says_so(
    fund: Portfolio, client: Client, url: str
) -> None:
    client.force_login(_user("viewer_dan", "viewer"))
    response = client.get(url)
    assert response.status_code == 404
    assert "is not a date: the address takes YYYY-MM-DD (years 1990–2200)" in (
        response.content.decode()
    )


def test_the_date_picker_and_day_links_lead_to_dated_pages(fund: Portfolio, client: Client) -> None:
    client.force_login(_user("viewer_dan", "viewer"))
    assert client.get("/morning/?date=2025-05-05")["Location"] == "/morning/2025-05-05/"
    body = client.get("/morning/2025-05-02/").content.decode()
    # 1 May is Labour Day: the previous business day of the 2nd is 30 April.
    assert 'href="/morning/2025-04-30/"' in body and 'href="/morning/2025-05-05/"' in body


def test_a_grounded_llm_pack_is_badged_and_a_fund_without_marks_says_so(
    fund: Portfolio, client: Client
) -> None:
    text = "Market: quiet.\n- Nothing pending."
    generate_morning_pack(fund, FRIDAY, client=FakeAnthropic(text=text), language="en")
    client.force_login(_user("viewer_dan", "viewer"))
    body = client.get("/morning/").content.decode()
    assert 'data-testid="source">LLM (grounded)<' in body and 'data-testid="rejection"' not in body
    assert (
        '<span class="label">Market:</span> quiet.' in body and "<li>Nothing pending.</li>" in body
    )
    assert "No marked day before 02/05/2025: no book figures." in body
    assert "has no marked day before 2025-05-02" in body  # a data-quality warning, in amber


def test_the_morning_pack_is_first_in_the_navigation_and_home_lands_on_it(
    fund: Portfolio, client: Client
) -> None:
    client.force_login(_user("viewer_dan", "viewer"))
    assert client.get("/")["Location"] == "/morning/"
    body = client.get("/morning/").content.decode()
    nav = body[body.index('class="mainnav"') :]
    assert nav.index("Morning pack") < nav.index(">Book<")


def test_no_fund_no_pack_is_an_empty_page_not_an_error(client: Client) -> None:
    client.force_login(_user("viewer_dan", "viewer"))
    response = client.get("/morning/")
    assert response.status_code == 200
    assert "No active portfolio yet" in response.content.decode()


def test_a_user_without_a_role_may_not_open_the_pack(fund: Portfolio, client: Client) -> None:
    generate_morning_pack(fund, FRIDAY)
    client.force_login(User.objects.create_user("nobody"))
    assert client.get("/morning/").status_code == 403
    assert client.get("/morning/2025-05-02/pdf/").status_code == 403


def test_with_two_funds_the_page_and_its_links_keep_the_chosen_one(
    fund: Portfolio, client: Client
) -> None:
    other = PortfolioFactory(code="other", name="Other FIM")
    generate_morning_pack(fund, MONDAY)
    generate_morning_pack(other, FRIDAY)
    client.force_login(_user("pm_alice", "manager"))
    body = client.get("/morning/?portfolio=other").content.decode()
    assert "Other FIM" in body and "Fri 02/05/2025" in body
    assert 'href="/morning/2025-05-05/?portfolio=other"' in body
    assert 'href="/morning/2025-05-02/pdf/?portfolio=other&amp;v=1"' in body
    response = client.post("/morning/2025-05-02/generate/", {"portfolio": "other"})
    assert response["Location"] == "/morning/2025-05-02/?portfolio=other&v=2"
    assert MorningPack.objects.filter(portfolio=other).count() == 2
    assert MorningPack.objects.filter(portfolio=fund).count() == 1


def test_the_pack_anchors_the_journal_head_it_was_generated_at(
    fund: Portfolio, client: Client
) -> None:
    """The pack records the chain head (its own journal entry) and prints it: a copy kept
    outside the database shows later whether entries were deleted from the end."""
    from apps.journal.models import Entry, EntryKind

    pack = generate_morning_pack(fund, FRIDAY)
    head = Entry.objects.order_by("-seq").first()
    assert head is not None and head.kind == EntryKind.MORNING_PACK
    pack.refresh_from_db()
    assert (pack.journal_seq, pack.journal_hash) == (head.seq, head.hash)
    client.force_login(make_user("viewer_dan", "viewer"))

    body = client.get("/morning/2025-05-02/").content.decode()

    assert f'data-testid="journal-anchor">#{head.seq} · {head.hash}<' in body
