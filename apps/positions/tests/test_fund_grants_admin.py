"""Fund grants in the back office (issue 17): a reason for every change, journaled old → new;
revoked by an action with its reason; a back office user scoped to some funds neither sees
the other funds' rows nor grants beyond what they see."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.test import Client

from apps.journal.models import Entry, EntryKind
from apps.positions.models import FundAccess, Portfolio
from tests.support import make_user

pytestmark = pytest.mark.django_db

ADD = "/admin/positions/fundaccess/add/"
LIST = "/admin/positions/fundaccess/"


def fund(code: str) -> Portfolio:
    return Portfolio.objects.create(
        code=code,
        name=f"{code.title()} FIM",
        inception_date=date(2025, 1, 2),
        initial_nav=Decimal(10**8),
    )


def changes() -> list[Entry]:
    return list(Entry.objects.filter(kind=EntryKind.ACCESS_CHANGED).order_by("seq"))


def test_a_grant_needs_a_reason_and_is_journaled_old_to_new(client: Client, bo_carol) -> None:
    macro, other = fund("macro"), fund("other")
    ana = make_user("ana", "manager", funds=())
    client.force_login(bo_carol)
    refused = client.post(ADD, {"user": ana.pk, "portfolio": macro.pk, "reason": ""})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert not FundAccess.objects.filter(user=ana).exists() and not changes()
    done = client.post(ADD, {"user": ana.pk, "portfolio": macro.pk, "reason": "Joins the desk."})
    assert done.status_code == 302
    grant = FundAccess.objects.get(user=ana)
    client.post(
        f"{LIST}{grant.pk}/change/",
        {"user": ana.pk, "portfolio": other.pk, "reason": "Moves to the other fund."},
    )
    first, second = changes()
    assert first.actor == bo_carol and first.note == "Joins the desk."
    assert first.snapshot["old"] is None and first.snapshot["new"]["portfolio"] == "macro"
    assert second.snapshot["old"]["portfolio"] == "macro"
    assert second.snapshot["new"]["portfolio"] == "other"
    assert second.snapshot["changed"] == ["portfolio"] and second.portfolio_id == other.pk


def test_revoking_asks_for_a_reason_and_journals_what_was_granted(client: Client, bo_carol) -> None:
    macro = fund("macro")
    ana = make_user("ana", "manager", funds=[macro])
    grant = FundAccess.objects.get(user=ana)
    client.force_login(bo_carol)
    action = {"action": "revoke_selected", helpers.ACTION_CHECKBOX_NAME: [grant.pk]}
    asked = client.post(LIST, action)
    assert asked.status_code == 200 and "Why revoke?" in asked.content.decode()
    client.post(LIST, {**action, "post": "yes", "reason": ""})
    assert FundAccess.objects.filter(pk=grant.pk).exists()
    client.post(LIST, {**action, "post": "yes", "reason": "Left the desk."})
    assert not FundAccess.objects.filter(pk=grant.pk).exists()
    (entry,) = changes()
    assert entry.note == "Left the desk." and entry.snapshot["new"] is None
    assert entry.snapshot["old"] == {
        "user": "ana",
        "group": None,
        "portfolio": "macro",
        "all_funds": False,
        "note": "",
    }


def test_a_back_office_user_of_one_fund_sees_and_grants_only_that_fund(client: Client) -> None:
    macro, hidden = fund("macro"), fund("hidden")
    carol = make_user("carol", "back_office", staff=True, funds=[macro])
    ana = make_user("ana", "manager", funds=[hidden])
    client.force_login(carol)
    listed = client.get(LIST).content.decode()
    assert "ana: Hidden FIM" not in listed  # the other fund's grants are not listed
    assert client.get(f"{LIST}{FundAccess.objects.get(user=ana).pk}/change/").status_code == 302
    form = client.get(ADD).content.decode()
    assert "Macro FIM" in form and "Hidden FIM" not in form  # the dropdown: own funds only
    other = client.post(ADD, {"user": ana.pk, "portfolio": hidden.pk, "reason": "Why not."})
    assert other.status_code == 200 and "Select a valid choice" in other.content.decode()
    every = client.post(ADD, {"user": ana.pk, "all_funds": "on", "reason": "Everything."})
    assert every.status_code == 403
    assert not changes() and FundAccess.objects.filter(user=ana).count() == 1
    for url in ("/admin/positions/portfolio/", "/admin/positions/capitalflow/"):
        assert "Hidden FIM" not in client.get(url).content.decode()
