"""Security headers, cookies, deploy checks and API tokens with production-like settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from apps.ops.tests.support import long_wdo
from apps.tokens.services import issue_token
from tests.support import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

BASE = Path(django_settings.BASE_DIR)
HTTPS: dict[str, Any] = {"secure": True}  # Client.get/post keyword arguments
NONCE = re.compile(r"'nonce-([^']+)'")
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


@pytest.fixture
def production(settings: Any) -> Any:
    """The security settings as production has them (settings.py with DEBUG off, TLS on)."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def _directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = [d.split() for d in header.split(";") if d.strip()]
    return {name: values for name, *values in parts}


def _csp_nonce(response: Any) -> str:
    script_src = " ".join(_directives(response)["script-src"])
    found = NONCE.search(script_src)
    assert found, f"no nonce in script-src: {script_src!r}"
    return found.group(1)


def _inline_script_nonces(body: str) -> list[str | None]:
    """The nonce of every executable inline <script> (JSON data blocks and src= excluded)."""
    nonces = []
    for match in SCRIPT.finditer(body):
        attributes = match.group(1)
        if "src=" in attributes or "application/json" in attributes:
            continue
        nonce = re.search(r'nonce="([^"]*)"', attributes)
        nonces.append(nonce.group(1) if nonce else None)
    return nonces


def test_csp_nonce_is_per_request_and_on_every_inline_script(
    production: Any, client: Client, pm_alice: Any
) -> None:
    client.force_login(pm_alice)
    first = client.get("/market/", **HTTPS)
    assert first.status_code == 200
    directives = _directives(first)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    nonce = _csp_nonce(first)
    body = first.content.decode()
    inline = _inline_script_nonces(body)
    assert inline, "the market page should carry an inline script"
    assert set(inline) == {nonce}, inline
    assert f'"inlineScriptNonce": "{nonce}"' in body  # htmx hands the nonce to swapped scripts
    second = client.get("/market/", **HTTPS)
    assert _csp_nonce(second) != nonce
    assert set(_inline_script_nonces(second.content.decode())) == {_csp_nonce(second)}


def test_position_page_scripts_carry_the_nonce(
    production: Any, client: Client, book_at: Any, pm_alice: Any
) -> None:
    book = book_at(date(2025, 2, 3), "WDOH25")
    book.price("WDOH25", date(2025, 2, 3), "5539.36")
    trade = book.trade("WDOH25", "BUY", "10", date(2025, 2, 3), price="5529.50")
    client.force_login(pm_alice)
    response = client.get(f"/book/position/{trade.position_id}/", **HTTPS)
    assert response.status_code == 200
    inline = _inline_script_nonces(response.content.decode())
    assert inline and set(inline) == {_csp_nonce(response)}


def test_framing_sniffing_and_referrer_headers(production: Any, client: Client) -> None:
    response = client.get("/login/", **HTTPS)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_on_https_and_plain_http_is_redirected(production: Any, client: Client) -> None:
    secure = client.get("/login/", **HTTPS)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    plain = client.get("/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/login/"
    assert "Strict-Transport-Security" not in plain  # only ever sent over TLS


def test_session_and_csrf_cookies_are_secure_and_same_site(
    production: Any, client: Client, pm_alice: Any
) -> None:
    form = client.get("/login/", **HTTPS)
    csrf = form.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True and csrf["samesite"] == "Lax"
    response = client.post("/login/", {"username": "pm_alice", "password": DEMO_PASSWORD}, **HTTPS)
    assert response.status_code == 302, "the real login view should accept the password"
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert client.session["_auth_user_id"] == str(pm_alice.pk)


# --- check --deploy with the production environment ---------------------------------------------


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(64)[:50],
            "ALLOWED_HOSTS": "pms.example.com",
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_HSTS_SECONDS": "31536000",
            **extra,
        }
    )
    return env  # DATABASE_URL / REDIS_URL: the suite's own, or unset (SQLite, local memory)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE,
        env=_production_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_environment() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr[-3000:]


def test_check_deploy_catches_an_insecure_environment() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", SECURE_COOKIES="false")
    assert result.returncode != 0
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE
    assert "security.W016" in result.stderr  # CSRF_COOKIE_SECURE


def test_admin_url_comes_from_the_environment() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.urls import reverse; print(settings.ADMIN_URL, reverse('admin:index'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE,
        env={
            **_production_env(ADMIN_URL="/back-office-7f3a/"),
            "DJANGO_SETTINGS_MODULE": "pms_project.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["back-office-7f3a/", "/back-office-7f3a/"]


# --- API tokens --------------------------------------------------------------------------------


@pytest.fixture
def fund(book_at: Any) -> Any:
    book = book_at(date(2025, 2, 3), "WDOH25")
    book.price("WDOH25", date(2025, 2, 3), "5539.36")
    book.trade("WDOH25", "BUY", "10", date(2025, 2, 3), price="5529.50")
    return book


def test_a_token_opens_the_api_without_a_session(
    production: Any, client: Client, fund: Any, pm_alice: Any
) -> None:
    token = issue_token(pm_alice, name="test")
    response = client.get(
        f"/api/book/?portfolio={fund.portfolio.code}",
        HTTP_AUTHORIZATION=f"Token {token.key}",
        **HTTPS,
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["portfolio"] == fund.portfolio.code
    assert "_auth_user_id" not in client.session
    assert django_settings.SESSION_COOKIE_NAME not in response.cookies


def test_a_token_user_keeps_their_role(production: Any, client: Client, viewer_dan: Any) -> None:
    token = issue_token(viewer_dan, name="test")
    response = client.post("/api/risk/run/", {}, HTTP_AUTHORIZATION=f"Token {token.key}", **HTTPS)
    assert response.status_code == 403


def test_a_bad_token_is_401(production: Any, client: Client, fund: Any) -> None:
    response = client.get(
        f"/api/book/?portfolio={fund.portfolio.code}",
        HTTP_AUTHORIZATION="Token not-a-real-token",
        **HTTPS,
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_refused(production: Any, client: Client, fund: Any) -> None:
    response = client.get(
        f"/api/book/?portfolio={fund.portfolio.code}",
        HTTP_AUTHORIZATION="Token not-a-real-token",
        **HTTPS,
    )
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid token.", "request_id": response["X-Request-ID"]}


# --- a cached page gets this request's nonce ---------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the HTML cache is bypassed inside a transaction
def test_a_page_served_from_the_html_cache_carries_this_requests_nonce(
    production: Any, client: Client, book_at: Any, pm_alice: Any
) -> None:
    from apps.ops.pipelines import run_pipeline

    production.PIPELINE_RETRY_DELAYS = []
    day = date(2025, 2, 3)
    book = long_wdo(book_at, through=day)
    assert run_pipeline("eod", book.portfolio, day).status == "ran"  # a risk snapshot
    client.force_login(pm_alice)
    responses = [client.get("/risk/", **HTTPS) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[1]["X-Cache"] == "hit", responses[1]["X-Cache-Detail"]
    nonces = []
    for response in responses:
        body = response.content.decode()
        nonce = _csp_nonce(response)
        # The cached body has no inline script (static files read its JSON data blocks); the
        # frame, rendered per request, gives htmx this response's nonce for swapped-in ones.
        assert _inline_script_nonces(body) == [], response["X-Cache"]
        assert f'"inlineScriptNonce": "{nonce}"' in body, (response["X-Cache"], nonce)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
