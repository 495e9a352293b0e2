"""The fund picker of the pages (issue 17): only granted funds, the choice remembered, a clear
empty state without a grant, and a cached body never shown to a user with other funds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from apps.positions.models import Portfolio
from apps.positions.picker import SESSION_KEY
from tests.support import make_user

pytestmark = pytest.mark.django_db

PAGES = ("/book/", "/risk/", "/attribution/", "/morning/", "/blotter/")


def fund(code: str, name: str) -> Portfolio:
    return Portfolio.objects.create(
        code=code, name=name, inception_date=date(2025, 1, 2), initial_nav=Decimal(10**8)
    )


@pytest.fixture
def three() -> tuple[Portfolio, Portfolio, Portfolio]:
    return fund("alpha", "Alpha FIM"), fund("beta", "Beta FIQ"), fund("gamma", "Gamma MA")


@pytest.mark.parametrize("url", PAGES)
def test_the_picker_lists_only_the_granted_funds(client: Client, three, url: str) -> None:
    alpha, beta, _ = three
    client.force_login(make_user("ana", "manager", funds=[alpha, beta]))
    body = client.get(url).content.decode()
    assert "Alpha FIM" in body and "Beta FIQ" in body
    assert "Gamma MA" not in body and 'value="gamma"' not in body
    assert client.get(f"{url}?portfolio=gamma").status_code == 404


@pytest.mark.parametrize("url", PAGES)
def test_the_choice_is_remembered_when_no_fund_is_asked_for(
    client: Client, three, url: str
) -> None:
    alpha, beta, _ = three
    client.force_login(make_user("ana", "manager", funds=[alpha, beta]))
    first = client.get(url).content.decode()
    assert 'value="alpha" selected' in first  # the first fund until one is picked
    client.get(f"{url}?portfolio=beta")
    assert client.session[SESSION_KEY] == "beta"
    again = client.get(url).content.decode()
    assert 'value="beta" selected' in again and 'value="alpha" selected' not in again


def test_a_remembered_fund_no_longer_granted_falls_back_to_the_first(client: Client, three) -> None:
    alpha, beta, _ = three
    ana = make_user("ana", "manager", funds=[alpha, beta])
    client.force_login(ana)
    client.get("/book/?portfolio=beta")
    ana.fund_grants.filter(portfolio=beta).delete()
    response = client.get("/book/")
    assert response.status_code == 200
    body = response.content.decode()  # one fund left: the page shows it, without a picker
    assert "portfolio alpha" in body and "Beta FIQ" not in body


@pytest.mark.parametrize("url", PAGES)
def test_a_user_without_a_fund_sees_an_empty_state_not_an_error(
    client: Client, three, url: str
) -> None:
    client.force_login(make_user("new", "viewer", funds=()))
    response = client.get(url)
    assert response.status_code == 200
    assert "No fund is granted to you — ask the back office." in response.content.decode()
    assert "Alpha FIM" not in response.content.decode()


def test_a_cached_body_is_never_shown_to_a_user_with_other_funds(three) -> None:
    """Two users of the same role flags, different grants: each body lists their own funds,
    served from the cache the second time (the key carries the user's fund set)."""
    alpha, beta, gamma = three
    ana, bob = Client(), Client()
    ana.force_login(make_user("ana", "viewer", funds=[alpha, beta]))
    bob.force_login(make_user("bob", "viewer", funds=[alpha, gamma]))
    for _ in range(2):
        a, b = ana.get("/risk/"), bob.get("/risk/")
        assert "Beta FIQ" in a.content.decode() and "Gamma MA" not in a.content.decode()
        assert "Gamma MA" in b.content.decode() and "Beta FIQ" not in b.content.decode()
