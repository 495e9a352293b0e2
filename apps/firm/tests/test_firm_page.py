"""The firm page and `GET /api/firm/`: the funds a user may see, side by side and together."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.positions.models import NavRecord, Portfolio
from apps.risk.firm import firm_risk
from apps.risk.services import compute_report
from apps.risk.tests.support import LAST, build_two_funds
from tests.support import DEMO_PASSWORD, BookAt, log_in, make_user


@pytest.fixture
def funds(book_at: BookAt) -> tuple[Portfolio, Portfolio]:
    return build_two_funds(book_at)


def _client(user: User) -> Client:
    client = Client()
    assert log_in(client, user.username, DEMO_PASSWORD)
    return client


def test_the_page_shows_each_fund_and_the_diversified_firm(
    funds: tuple[Portfolio, Portfolio], pm_alice: User
) -> None:
    a, b = funds
    response = _client(pm_alice).get("/firm/")

    assert response.status_code == 200
    html = response.content.decode()
    for fund in (a, b):
        assert f'data-fund="{fund.code}"' in html
        assert f'href="/book/?portfolio={fund.code}"' in html  # drill-down to its book
        assert f'href="/risk/?portfolio={fund.code}"' in html  # and to its risk
    risk = firm_risk([a, b], LAST)
    assert f"{risk.report.var99:,.0f}" in html  # the diversified VaR
    assert f"{risk.standalone_var99:,.0f}" in html  # beside the sum of the standalone ones
    assert "Diversification benefit" in html
    assert '<a href="/firm/"' in html  # the navigation's "Firm" entry


def test_the_api_gives_the_same_numbers(funds: tuple[Portfolio, Portfolio], pm_alice: User) -> None:
    a, b = funds
    body = _client(pm_alice).get("/api/firm/").json()

    assert body["as_of"] == LAST.isoformat()
    assert [f["code"] for f in body["funds"]] == [
        p.code for p in Portfolio.objects.filter(pk__in=[a.pk, b.pk])
    ]
    navs = {n.portfolio_id: float(n.nav_close) for n in NavRecord.objects.filter(date=LAST)}
    assert body["totals"]["nav"] == pytest.approx(navs[a.pk] + navs[b.pk], abs=0.01)
    alone = {p.code: compute_report(p, LAST) for p in (a, b)}
    for row in body["funds"]:
        assert row["var99"] == pytest.approx(alone[row["code"]].var99, abs=0.005)
        assert row["dv01"] == pytest.approx(alone[row["code"]].dv01_total, abs=0.005)
    risk = body["risk"]
    assert risk["standalone_var99"] == pytest.approx(sum(r.var99 for r in alone.values()))
    assert risk["var99"] <= risk["standalone_var99"]
    assert risk["diversification"] == pytest.approx(risk["standalone_var99"] - risk["var99"])
    assert sum(f["component_var99"] for f in body["funds"]) == pytest.approx(
        risk["var99"], abs=0.02
    )
    # DV01 by vertex: the firm's is the sum of the funds', vertex by vertex.
    for row in body["dv01"]["rows"]:
        assert row["total"] == pytest.approx(sum(row["by_fund"].values()), abs=0.02)
    total_net = sum(e["net"] for e in body["exposures"])
    assert total_net == pytest.approx(sum(f["net"] for f in body["funds"]), abs=0.02)


def test_a_user_sees_only_the_funds_granted(funds: tuple[Portfolio, Portfolio]) -> None:
    a, b = funds
    analyst = make_user("analyst_ana", "viewer", funds=[a])
    client = _client(analyst)

    html = client.get("/firm/").content.decode()
    assert f'data-fund="{a.code}"' in html and b.code not in html
    body = client.get("/api/firm/").json()
    assert [f["code"] for f in body["funds"]] == [a.code]
    alone = compute_report(a, LAST)
    assert body["risk"]["var99"] == pytest.approx(alone.var99, abs=0.005)  # the firm is A


def test_without_a_grant_there_is_nothing_to_show(funds: tuple[Portfolio, Portfolio]) -> None:
    nobody = make_user("nobody", "viewer", funds=())
    client = _client(nobody)
    response = client.get("/firm/")
    assert response.status_code == 200
    assert b'data-testid="firm-empty"' in response.content
    assert client.get("/api/firm/").json()["funds"] == []


def test_a_fund_not_marked_on_the_day_is_left_out_and_named(
    funds: tuple[Portfolio, Portfolio], pm_alice: User
) -> None:
    Portfolio.objects.create(
        code="fund-new", name="New fund", inception_date=LAST, initial_nav=Decimal("1000000")
    )
    body = _client(pm_alice).get("/api/firm/").json()
    assert [row["code"] for row in body["left_out"]] == ["fund-new"]
    assert len(body["funds"]) == 2


def test_a_bad_date_is_a_400_on_the_api_and_a_message_on_the_page(
    funds: tuple[Portfolio, Portfolio], pm_alice: User
) -> None:
    client = _client(pm_alice)
    assert client.get("/api/firm/?date=2025-13-01").status_code == 400
    response = client.get("/firm/?date=nope")
    assert response.status_code == 200 and b"is not a date" in response.content


def test_the_date_form_swaps_the_body_with_htmx(
    funds: tuple[Portfolio, Portfolio], pm_alice: User
) -> None:
    response = _client(pm_alice).get(
        f"/firm/?date={LAST.isoformat()}", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'data-testid="funds-table"' in html and "<html" not in html
