"""The permission matrix's fund dimension (issue 17): two funds, a user granted only fund A.

Every row of the role matrix (`test_permission_matrix.TABLE`, which covers every URL the
resolver knows) is asked again by a user who holds every role but is granted only fund A:

- a row that names a fund's object in its path (a position, a trade, a proposal, an alert, an
  override, a run) or a fund in its query (`?portfolio=`) answers 404 for fund B's id, and what
  the roles allow for fund A's;
- a page or list that names no fund shows nothing of fund B;
- every write (IDOR): fund B's ids in the path are a 404; in a form or an API body they are
  refused like ids that do not exist (a field error naming the field); either way nothing is
  written and nothing journaled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, override_settings
from django.urls import resolve

from apps.ops.tests.test_permission_matrix import (
    NOW,
    TABLE,
    Row,
    _request,
    build_fund,
    build_market,
    fingerprint,
)
from apps.positions.models import Portfolio
from apps.tokens.services import issue_token
from tests.support import make_user

pytestmark = pytest.mark.django_db

ROLES = ("manager", "approver", "back_office", "ops", "viewer")
# The placeholders that name one fund's objects (or the fund itself) in a row's path.
FUND_IDS = {"portfolio", "portfolio_pk", "position", "trade", "pending", "approved", "alert"}
FUND_IDS |= {"override", "run", "entry", "strategy", "strategy_pk", "breach"}
# Pages and endpoints that take `?portfolio=<code>` (the others name no fund or take an id).
FUND_PARAM = {
    "positions:book",
    "risk:monitor",
    "compliance:page",
    "compliance-list",
    "attribution:page",
    "briefings:latest",
    "briefings:day",
    "briefings:pdf",
    "proposals:blotter",
    "journal:list",
    "position-list",
    "trade-list",
    "proposal-list",
    "journal-entry-list",
    "risk-alert-list",
}
# Writes that name no fund: a logout, a token of one's own, the EOD/pre-open of every fund.
FUND_FREE_WRITES = {"logout", "api revoke token", "run now"}
FUND_FREE_WRITES |= {"api intraday price entry"}  # market data: prices of no fund
HIDDEN_NAME = "Zeta FIM"  # fund B's name: no page or list of a fund-A user may show it
# Operational endpoints of the whole process, behind their own token, not per user.
PROCESS_WIDE = {"/metrics", "/health", "/ready"}


class Funds:
    def __init__(self, user: User, a: dict[str, Any], b: dict[str, Any]) -> None:
        self.user, self.a, self.b = user, a, b


@pytest.fixture(scope="module")
def funds(django_db_setup: None, django_db_blocker: Any) -> Iterator[Funds]:
    """Fund A ("macro") and fund B ("zeta"), built alike; the user holds every role, fund A."""
    traveller = time_machine.travel(NOW, tick=True)
    traveller.start()
    try:
        with (
            django_db_blocker.unblock(),
            override_settings(
                ANTHROPIC_API_KEY="", PIPELINE_RETRY_DELAYS=[], CACHE_WRITE_THROUGH=False
            ),
        ):
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                trader = make_user("pm_zoe", "manager", "back_office", staff=True)
                approver = make_user("cio_yan", "approver")
                proposer = make_user("pm_xia", "manager")
                build_market()
                a = build_fund("macro", trader=trader, approver=approver, proposer=proposer)
                b = build_fund("zeta", trader=trader, approver=approver, proposer=proposer)
                Portfolio.objects.filter(code="zeta").update(name=HIDDEN_NAME)
                fund_a = Portfolio.objects.get(code="macro")
                user = make_user("ann", *ROLES, staff=True, funds=[fund_a])
                a["token"] = b["token"] = issue_token(user, name="feed").token.pk
                yield Funds(user, a, b)
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
    finally:
        traveller.stop()


def _named(row: Row) -> set[str]:
    return set(re.findall(r"{(\w+)}", row.path)) & FUND_IDS


def _view(row: Row, ids: dict[str, Any]) -> str:
    return resolve(row.url(ids).split("?")[0]).view_name


def _with_fund(row: Row, ids: dict[str, Any]) -> str:
    """The row's URL, asking for the fund by `?portfolio=` where the page takes it."""
    url = row.url(ids)
    if _named(row) or _view(row, ids) not in FUND_PARAM:
        return url
    return f"{url}{'&' if '?' in url else '?'}portfolio={ids['portfolio']}"


def _get_rows() -> list[Row]:
    return [row for row in TABLE if row.method == "GET"]


def _post_rows() -> list[Row]:
    return [row for row in TABLE if row.method == "POST"]


def _signed_in(client: Client, funds: Funds, settings: Any) -> Client:
    settings.METRICS_TOKEN = ""
    settings.ANTHROPIC_API_KEY = ""
    client.force_login(funds.user)
    return client


@pytest.mark.parametrize("row", _get_rows(), ids=lambda r: f"GET {r.label}")
def test_another_funds_page_is_a_404_and_ones_own_is_served(
    funds: Funds, client: Client, settings: Any, row: Row
) -> None:
    client = _signed_in(client, funds, settings)
    before = fingerprint()
    own = client.get(_with_fund(row, funds.a))
    assert own.status_code != 404, (row.label, own.status_code)
    if row.expect[0] == "200":  # what a manager gets, the user gets (they hold every role)
        assert own.status_code == 200, (row.label, own.status_code)
    other_url = _with_fund(row, funds.b)
    other = client.get(other_url)
    if other_url != _with_fund(row, funds.a):  # the row names a fund: B's is a 404
        # (a POST-only address read by GET answers 405 before looking anything up)
        wanted = 405 if row.expect[0] == "405" else 404
        assert other.status_code == wanted, (other_url, other.status_code)
    elif row.path not in PROCESS_WIDE:
        body = b"" if other.get("Content-Type", "").startswith("application/pdf") else other.content
        assert HIDDEN_NAME.encode() not in body and b'"zeta"' not in body, other_url
        if not row.path.startswith(("/api/", "/admin/")) and other.status_code == 200:
            assert b">zeta<" not in body and b'value="zeta"' not in body, other_url
    assert fingerprint() == before


def test_every_fund_scoped_row_is_asked_for_the_other_fund(funds: Funds) -> None:
    """A row of the matrix names a fund (path or query) or is checked for leaks: the lists
    of views above are not stale (each names a view of the table)."""
    views = {_view(row, funds.a) for row in TABLE}
    assert views >= FUND_PARAM - {"briefings:pdf"}  # the pdf's row names the day only
    asked = [row for row in _get_rows() if _with_fund(row, funds.b) != _with_fund(row, funds.a)]
    assert len(asked) >= 40, len(asked)  # pages, exports and API reads of a fund


@pytest.mark.parametrize("row", _post_rows(), ids=lambda r: f"POST {r.label}")
def test_another_funds_ids_are_refused_by_every_write(
    funds: Funds, client: Client, settings: Any, row: Row
) -> None:
    """IDOR: fund B's ids posted by a fund-A user: 404 (path) or a field error (body)."""
    client = _signed_in(client, funds, settings)
    before = fingerprint()
    response = _request(client, row, funds.b)
    after = fingerprint()
    changed = sorted(k for k in before if before[k] != after[k] and k != "sessions")
    payload = row.payload(funds.b) if row.payload else {}
    in_body = {k for k, v in payload.items() if k in {"portfolio", "strategy", "proposal"}}
    if _named(row):
        assert response.status_code == 404, (row.label, response.status_code)
        assert not changed, changed
    elif in_body and any(str(v) in {str(funds.b[k]) for k in FUND_IDS} for v in payload.values()):
        assert not changed, (row.label, changed)
        status = response.status_code
        if row.api:
            assert status == 400, (row.label, status)
            assert set(response.json()) & {"portfolio", "proposal"}, response.json()
        else:  # a page: its form names the field, or a message says why, or a 404
            assert status in (200, 302, 404), (row.label, status)
            if status == 200:
                assert b"errorlist" in response.content or b"error" in response.content
    else:  # the row names no fund: its own checks are the role matrix's
        assert row.label in FUND_FREE_WRITES, f"{row.label}: which fund does it write to?"
