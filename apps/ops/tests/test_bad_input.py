"""Bad input gets a clear 400, never a 500: NUL bytes, deep JSON, huge pagination."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from django.test import Client
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from apps.core.inputs import check_json
from apps.marketdata.tests.factories import InstrumentFactory
from apps.tokens.services import issue_token
from tests.support import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(pm_alice: Any) -> Client:
    """An API client with pm_alice's token."""
    key = issue_token(pm_alice, name="bad input").key
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def page(client: Client, pm_alice: Any) -> Client:
    assert log_in(client, "pm_alice", "correct-horse-battery-staple")
    return client


def test_a_nul_in_an_api_query_parameter_is_a_400(api: Client) -> None:
    response = api.get("/api/book/", {"portfolio": "FUND\x00"})
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_a_query_parameter_name_is_a_400(api: Client) -> None:
    assert api.get("/api/positions/?por%00tfolio=x").status_code == 400


def test_a_nul_in_a_page_query_parameter_is_a_400(page: Client) -> None:
    response = page.get("/journal/", {"portfolio": "\x00"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_a_form_field_is_a_400(page: Client) -> None:
    response = page.post("/book/trade/new/", {"broker": "XP\x00", "notes": "n"})
    assert response.status_code == 400


def test_a_nul_in_a_login_form_is_a_400(client: Client) -> None:
    response = client.post("/login/", {"username": "pm\x00alice", "password": "x"})
    assert response.status_code == 400


def test_a_nul_in_an_api_json_field_is_a_400(api: Client) -> None:
    body = {"portfolio": "\x00FUND", "date": "2025-02-03"}
    response = api.post("/api/mtm/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_a_nested_json_key_is_a_400(api: Client) -> None:
    body = {"note": "fine", "extra": [{"k\x00": 1}]}
    response = api.post("/api/journal/notes/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400


def test_a_nul_in_an_api_form_field_is_a_400(api: Client) -> None:
    response = api.post("/api/risk/run/", {"portfolio": "\x00", "date": "2025-02-03"})
    assert response.status_code == 400


@pytest.mark.parametrize("depth", [33, 5000])
def test_deeply_nested_json_is_refused(api: Client, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = api.post("/api/journal/notes/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32" in response.json()["detail"]


def test_json_at_the_depth_limit_passes_the_check() -> None:
    check_json(json.loads("[" * 32 + "]" * 32), max_depth=32)
    with pytest.raises(ParseError):
        check_json(json.loads("[" * 33 + "]" * 33), max_depth=32)


def test_an_unbounded_limit_is_not_a_server_error(api: Client) -> None:
    InstrumentFactory.create(ticker="DI1F27")
    response = api.get("/api/instruments/", {"limit": str(10**30)})
    assert response.status_code == 200
    assert [row["ticker"] for row in response.json()["results"]] == ["DI1F27"]


def test_limit_is_capped_at_the_setting(settings: Any) -> None:
    settings.API_MAX_PAGE_SIZE = 50
    request = Request(APIRequestFactory().get("/api/instruments/", {"limit": "5000"}))
    pagination = cast("type[LimitOffsetPagination]", api_settings.DEFAULT_PAGINATION_CLASS)
    assert pagination().get_limit(request) == 50


def test_a_body_larger_than_an_upload_may_be_is_refused_unread(page: Client, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 1000
    body = b"x" * (2**20 + 1001)
    response = page.generic("POST", "/book/trade/new/", body, "application/octet-stream")
    assert response.status_code == 413
    assert b"larger than the 1 MB limit" in response.content


def test_a_nul_in_the_session_cookie_is_a_400(client: Client) -> None:
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert client.get("/journal/").status_code == 400


def test_a_nul_in_an_api_token_is_a_400(client: Client) -> None:
    assert client.get("/api/book/", HTTP_AUTHORIZATION="Token abc\x00def").status_code == 400


def test_a_clean_form_encoded_api_post_still_reaches_drf(api: Client) -> None:
    """The middleware reads request.POST first; DRF then takes the parsed form, not the body."""
    response = api.post("/api/journal/notes/", {"note": "Stay small.", "on_date": "2025-02-04"})
    assert response.status_code == 201, response.content
    assert response.json()["note"] == "Stay small."
