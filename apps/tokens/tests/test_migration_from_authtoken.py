"""Keys DRF's authtoken kept in clear become hashed, expiring ApiTokens, and the clear keys
are erased."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)

OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def _migrate(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def test_authtoken_keys_are_moved_hashed_and_erased(pm_alice: Any) -> None:
    _migrate(("tokens", "0001_apitoken"))
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, "
            "user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [OLD_KEY, "2025-01-02 10:00:00", pm_alice.pk],
        )
    try:
        _migrate(("tokens", "0002_from_authtoken"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")

    from apps.tokens.models import ApiToken

    token = ApiToken.objects.get(user=pm_alice)
    assert token.prefix == OLD_KEY[:8] and OLD_KEY not in token.key_hash
    assert token.status == ApiToken.Status.ACTIVE
    response = Client().get("/api/instruments/", HTTP_AUTHORIZATION=f"Token {OLD_KEY}")
    assert response.status_code == 200
