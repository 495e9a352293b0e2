"""Login lockout (django-axes, database handler): 5 failures lock a username from one IP for
15 minutes; a success resets the count; it works the same with Redis dead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axes.models import AccessAttempt
from django.test import Client

from scripts.redis_server import RedisServer
from tests.support import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2025, 2, 4, 9, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
IP = "203.0.113.7"
LOCKED_TEMPLATE = "registration/locked_out.html"


def _login(client: Client, password: str, ip: str = IP, username: str = "pm_alice") -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _is_locked(response: Any) -> bool:
    return LOCKED_TEMPLATE in [t.name for t in response.templates]


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client: Client, times: int, ip: str = IP) -> list[Any]:
    return [_login(client, f"wrong-{n}", ip) for n in range(times)]


def _lockout_scenario(client: Client, time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    failures = _fail(client, 5)
    assert all(r.status_code in (200, 429) for r in failures)
    assert not any(_is_locked(r) for r in failures[:4])  # the first four: a plain refusal
    assert not _logged_in(client)

    sixth = _login(client, DEMO_PASSWORD)  # the right password, too late
    assert _is_locked(sixth), sixth.content[:500]
    assert sixth.status_code == 429
    assert b"locked" in sixth.content.lower()
    assert not _logged_in(client)
    attempt = AccessAttempt.objects.get(username="pm_alice", ip_address=IP)
    assert attempt.failures_since_start >= 5

    # Another address is not locked (username + IP); the login page still opens from here.
    other = Client()
    assert _login(other, DEMO_PASSWORD, ip="198.51.100.9").status_code == 302
    assert _logged_in(other)

    time_machine.shift(timedelta(minutes=14))
    assert _is_locked(_login(client, DEMO_PASSWORD)), "still inside the 15 minute cool-off"
    time_machine.shift(timedelta(minutes=16))
    after = _login(client, DEMO_PASSWORD)
    assert after.status_code == 302, after.content[:500]
    assert _logged_in(client)


def test_five_failures_lock_the_username_and_ip_until_the_cool_off(
    client: Client, pm_alice: Any, time_machine: Any
) -> None:
    _lockout_scenario(client, time_machine)
    # The success after the cool-off reset the count.
    assert not AccessAttempt.objects.filter(username="pm_alice", ip_address=IP).exists()


def test_a_successful_login_resets_the_count(
    client: Client, pm_alice: Any, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    _fail(client, 4)
    assert AccessAttempt.objects.get(username="pm_alice").failures_since_start == 4
    assert _login(client, DEMO_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="pm_alice").exists()
    client.post("/logout/")
    # Four more failures: eight in all, but only four since the success, so not locked.
    assert not any(_is_locked(r) for r in _fail(client, 4))
    assert _login(client, DEMO_PASSWORD).status_code == 302
    assert _logged_in(client)


def test_an_unknown_username_is_locked_out_too(client: Client, time_machine: Any, db: None) -> None:
    time_machine.move_to(START, tick=False)
    for _ in range(5):
        _login(client, "guess", username="admin")
    assert _is_locked(_login(client, "guess", username="admin"))
    assert AccessAttempt.objects.filter(username="admin", ip_address=IP).exists()


def test_lockout_works_with_redis_dead(
    client: Client,
    pm_alice: Any,
    time_machine: Any,
    dead_redis: RedisServer,
) -> None:
    """Attempts live in the database: a dead Redis neither unlocks nor breaks the login page."""
    assert not dead_redis.answers()
    assert client.get("/login/").status_code == 200
    _lockout_scenario(client, time_machine)


def _fail_forging(client: Client, forged: list[str], remote: str = IP) -> None:
    """Failures from one socket address, each claiming another client in X-Forwarded-For."""
    for n, header in enumerate(forged):
        client.post(
            "/login/",
            {"username": "pm_alice", "password": f"wrong-{n}"},
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=header,
        )


def test_without_a_proxy_a_forged_x_forwarded_for_does_not_rotate_past_the_lockout(
    client: Client, pm_alice: Any, time_machine: Any, settings: Any
) -> None:
    """PROXY_COUNT=0 (the default, gunicorn reached directly): the header is the client's word,
    so the lockout keys on the socket address and five failures lock whatever it claims."""
    settings.PROXY_COUNT = 0
    time_machine.move_to(START, tick=False)
    _fail_forging(client, [f"198.51.100.{n}" for n in range(1, 6)])
    sixth = client.post(
        "/login/",
        {"username": "pm_alice", "password": DEMO_PASSWORD},
        REMOTE_ADDR=IP,
        HTTP_X_FORWARDED_FOR="198.51.100.77",
    )
    assert _is_locked(sixth), sixth.status_code
    assert not _logged_in(client)
    assert AccessAttempt.objects.get(username="pm_alice").ip_address == IP


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(
    client: Client, pm_alice: Any, time_machine: Any, settings: Any
) -> None:
    """PROXY_COUNT=1 (compose, behind Caddy): what the client prepends to X-Forwarded-For is
    ignored; the lockout keys on the address the proxy appended (the rightmost)."""
    settings.PROXY_COUNT = 1
    time_machine.move_to(START, tick=False)
    proxy = "172.18.0.5"
    _fail_forging(client, [f"198.51.100.{n}, {IP}" for n in range(1, 6)], remote=proxy)
    sixth = client.post(
        "/login/",
        {"username": "pm_alice", "password": DEMO_PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=f"198.51.100.77, {IP}",
    )
    assert _is_locked(sixth), sixth.status_code
    assert AccessAttempt.objects.get(username="pm_alice").ip_address == IP
    # The real pm_alice, from her own address through the same proxy, is not locked out by it.
    own = Client().post(
        "/login/",
        {"username": "pm_alice", "password": DEMO_PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert own.status_code == 302, "locked by the attacker's failures: the proxy was the client"
