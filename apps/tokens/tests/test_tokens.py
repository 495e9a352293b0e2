"""API tokens: hashed at rest, expiring, revocable by their owner (API) and by ops (admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.tokens.models import ApiToken
from apps.tokens.services import issue_token
from tests.support import DEMO_PASSWORD, log_in

pytestmark = pytest.mark.django_db


def auth(key: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_an_issued_key_opens_the_api_and_is_stored_only_as_a_digest(pm_alice: Any) -> None:
    issued = issue_token(pm_alice, name="risk feed")
    response = Client().get("/api/instruments/", **auth(issued.key))
    assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tokens_apitoken")
        stored = " ".join(map(str, cursor.fetchall()))
    assert issued.key not in stored and issued.key[len(issued.token.prefix) :] not in stored
    assert issued.token.prefix in stored
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_a_token_expires_after_the_configured_days(pm_alice: Any, settings: Any) -> None:
    settings.API_TOKEN_DAYS = 90
    issued = issue_token(pm_alice, name="risk feed")
    assert issued.token.expires_at - timezone.now() > timedelta(days=89, hours=23)
    with time_machine.travel(timezone.now() + timedelta(days=90, minutes=1)):
        response = Client().get("/api/instruments/", **auth(issued.key))
    assert response.status_code == 401
    assert response.json()["detail"] == "Token expired."
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_a_revoked_token_is_refused(pm_alice: Any) -> None:
    issued = issue_token(pm_alice, name="risk feed")
    owner = Client()
    owner.force_login(pm_alice)
    revoked = owner.post(f"/api/tokens/{issued.token.pk}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    response = Client().get("/api/instruments/", **auth(issued.key))
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_user_lists_their_own_tokens_and_never_a_key(pm_alice: Any, viewer_dan: Any) -> None:
    mine = issue_token(pm_alice, name="risk feed")
    issue_token(pm_alice, name="old feed", days=1)
    theirs = issue_token(viewer_dan, name="dan's notebook")
    response = Client().get("/api/tokens/", **auth(mine.key))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["name"] for row in rows} == {"risk feed", "old feed"}
    assert all(row["status"] == "active" for row in rows)
    text = response.content.decode()
    assert mine.key not in text and mine.token.key_hash not in text
    assert theirs.token.prefix not in text


def test_nobody_revokes_another_users_token_through_the_api(pm_alice: Any, viewer_dan: Any) -> None:
    theirs = issue_token(viewer_dan, name="dan's notebook")
    alice = Client()
    alice.force_login(pm_alice)
    assert alice.post(f"/api/tokens/{theirs.token.pk}/revoke/").status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None


def test_ops_issue_a_token_in_the_admin_see_the_key_once_and_revoke_it(
    ops_erin: Any, pm_alice: Any
) -> None:
    client = Client()
    assert log_in(client, ops_erin.username, DEMO_PASSWORD)
    response = client.post(
        "/admin/tokens/apitoken/add/",
        {"user": pm_alice.pk, "name": "risk feed", "days": "30"},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="risk feed")
    [message] = [m.message for m in response.context["messages"] if "shown this once" in m.message]
    key = message.rsplit(" ", 1)[-1]
    assert key.startswith(token.prefix)
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert Client().get("/api/instruments/", **auth(key)).status_code == 200

    listing = client.get("/admin/tokens/apitoken/")
    assert token.prefix in listing.content.decode() and key not in listing.content.decode()
    client.post(
        "/admin/tokens/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.status == ApiToken.Status.REVOKED and token.revoked_by == ops_erin
    assert Client().get("/api/instruments/", **auth(key)).status_code == 401


def test_issue_token_prints_a_working_key(pm_alice: Any) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("issue_token", "pm_alice", "--name", "nightly export", "--days", "7", stdout=out)
    key = out.getvalue().strip()
    assert Client().get("/api/instruments/", **auth(key)).status_code == 200
    assert ApiToken.objects.get(name="nightly export").status == "active"
