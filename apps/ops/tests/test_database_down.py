"""Database down: every page answers a clear 503 "database unavailable" (HTML, JSON under
/api/) with the request id and no details, whether or not the caller has a session."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["/", "/book/", "/market/", "/blotter/", "/journal/", "/risk/", "/login/", "/admin/"]
APIS = ["/api/book/?portfolio=x", "/api/instruments/", "/api/trades/"]


def assert_tells_nothing(response: Any) -> None:
    text = response.content.decode()
    port = str(connection.settings_dict.get("PORT") or "")
    leaks = ["127.0.0.1", "localhost", "OperationalError", "refused", "Traceback"]
    for leak in [*leaks, *([port] if port else [])]:
        assert leak not in text, (leak, text[:500])


@pytest.fixture
def cookie_client(pm_alice: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(pm_alice)
    return client


def test_every_page_answers_503_database_unavailable(
    cookie_client: Client, database_down: None
) -> None:
    for url in PAGES:
        assert_unavailable_page(cookie_client.get(url, HTTP_X_REQUEST_ID="drill-42"))


def test_an_anonymous_visitor_gets_the_login_form_and_a_503_on_logging_in(
    pm_alice: Any, database_down: None
) -> None:
    """The login form needs no database; logging in does."""
    client = Client(raise_request_exception=False)
    assert client.get("/book/", follow=True).status_code == 200
    response = client.post(
        "/login/", {"username": "pm_alice", "password": "x"}, HTTP_X_REQUEST_ID="drill-42"
    )
    assert_unavailable_page(response)


def assert_unavailable_page(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"]
    body = response.content.decode()
    assert "Database unavailable" in body
    assert "drill-42" in body and response["X-Request-ID"] == "drill-42"
    assert_tells_nothing(response)


def test_the_api_answers_503_json(cookie_client: Client, database_down: None) -> None:
    for url in APIS:
        response = cookie_client.get(url)
        assert response.status_code == 503, url
        body = response.json()
        assert body["detail"] == "Database unavailable."
        assert body["request_id"] == response["X-Request-ID"]
        assert_tells_nothing(response)


@pytest.mark.django_db
def test_any_other_error_is_a_500_page_with_the_request_id(
    cookie_client: Client, monkeypatch: Any
) -> None:
    from apps.ops import views

    def broken(*args: Any) -> Any:
        raise ValueError("secret internals")

    monkeypatch.setattr(views, "items_for", broken)
    response = cookie_client.get("/", HTTP_X_REQUEST_ID="drill-43")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Server error" in body and "drill-43" in body
    assert "secret internals" not in body and "ValueError" not in body


def test_a_hung_database_answers_503_within_the_connect_timeout(
    transactional_db: None, pm_alice: Any
) -> None:
    """A PostgreSQL that accepts the connection and never answers (a hung host, a full
    backlog) must not hold the request: DB_CONNECT_TIMEOUT bounds the wait."""
    import socket
    import time

    if connection.vendor != "postgresql":
        pytest.skip("the connect timeout is a PostgreSQL (libpq) option")
    client = Client(raise_request_exception=False)
    client.force_login(pm_alice)
    saved = dict(connection.settings_dict)
    connection.close()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
        options = {**saved.get("OPTIONS", {}), "connect_timeout": 1}
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(silent.getsockname()[1]), OPTIONS=options
        )
        try:
            started = time.monotonic()
            response = client.get("/book/", HTTP_X_REQUEST_ID="drill-42")
            waited = time.monotonic() - started
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
    assert_unavailable_page(response)
    assert waited < 10, f"the request waited {waited:.1f} s for a silent database"


def test_postgresql_connections_have_a_connect_timeout(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no network connection")
    assert settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 5
