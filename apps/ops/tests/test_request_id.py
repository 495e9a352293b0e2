"""A request id in every log line and every response: a sane incoming X-Request-ID is kept,
anything else is replaced by a new one."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_sane_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/health", HTTP_X_REQUEST_ID="lb-2f6c:1a2b.9_x")
    assert response["X-Request-ID"] == "lb-2f6c:1a2b.9_x"


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "<script>", "x" * 129, "é-accent", "a\nInjected: header"],
    ids=["empty", "space", "markup", "too long", "non-ascii", "newline"],
)
def test_anything_else_gets_a_new_request_id(client: Client, incoming: str) -> None:
    response = client.get("/health", HTTP_X_REQUEST_ID=incoming)
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_every_request_gets_its_own_id(client: Client) -> None:
    ids = {client.get("/login/")["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_every_log_line_of_a_request_carries_its_id(client: Client, monkeypatch: Any) -> None:
    """Through the configured console handler and format (settings.LOGGING)."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    from apps.ops import views

    def noisy(*args: Any) -> list[Any]:
        logging.getLogger("apps.ops.views").warning("while serving")
        return []

    monkeypatch.setattr(views, "items_for", noisy)
    client.get("/", HTTP_X_REQUEST_ID="trace-0001")  # anonymous: redirected, nothing logged
    logging.getLogger("apps.ops").warning("outside a request")
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("someone"))
    client.get("/", HTTP_X_REQUEST_ID="trace-0002")
    lines = stream.getvalue().splitlines()
    assert any("[trace-0002]" in line and "while serving" in line for line in lines), lines
    assert any("[-]" in line and "outside a request" in line for line in lines), lines


def test_an_api_error_names_the_request_id_in_its_body(client: Client) -> None:
    response = client.get("/api/instruments/", HTTP_X_REQUEST_ID="trace-0003")
    assert response.status_code in (401, 403)
    assert response.json()["request_id"] == "trace-0003" == response["X-Request-ID"]


def test_a_validation_error_keeps_its_field_shape_and_has_the_id_in_the_header(
    client: Client, pm_alice: Any
) -> None:
    client.force_login(pm_alice)
    response = client.post(
        "/api/journal/notes/",
        {"note": " ", "on_date": "2025-02-04"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="trace-0004",
    )
    assert response.status_code == 400
    assert response.json() == {"note": ["Write something: an empty note is not recorded."]}
    assert response["X-Request-ID"] == "trace-0004"
