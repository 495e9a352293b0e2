"""Journal 0005 turns the links into plain ids: an existing chain still verifies after it."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.journal import chain
from apps.journal.models import Entry
from apps.journal.services import _VALUE_FIELDS, verify

BEFORE = [("journal", "0004_refuse_truncate")]
AFTER = [("journal", "0005_links_as_plain_ids")]
LINKS = ("portfolio_id", "position_id", "trade_id", "proposal_id")

postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="foreign-key triggers and replica role: PostgreSQL"
)


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


def _old_entries(old_apps: Any, user_id: int) -> None:
    """Three entries written through the 0004 model (foreign keys), hashed as `record` does."""
    old_entry = old_apps.get_model("journal", "Entry")
    prev = chain.GENESIS
    for seq in (1, 2, 3):
        content: dict[str, Any] = {
            "seq": seq,
            "created_at": datetime(2025, 2, 3, 12, seq, tzinfo=UTC),
            "actor_id": user_id,
            "kind": "NOTE",
            "portfolio_id": 10 + seq,
            "position_id": 20 + seq,
            "trade_id": 30 + seq if seq != 2 else None,
            "proposal_id": 40 + seq,
            "on_date": date(2025, 2, 3),
            "snapshot": {"i": seq, "amount": "1234.50"},
            "note": f"note {seq}",
            "prev_hash": prev,
        }
        content["hash"] = prev = chain.entry_hash(content)
        old_entry.objects.create(**content)


def _foreign_keys() -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "journal_entry")
    return {c["columns"][0] for c in found.values() if c["foreign_key"]}


@pytest.fixture
def _latest_schema_after() -> Iterator[None]:
    """Leave the database at the latest migrations, as the next test expects it (journal
    migrations after 0005 exist)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_after")
def test_an_existing_chain_verifies_after_the_links_become_plain_ids(pm_alice) -> None:
    old_apps = _migrate(BEFORE)
    try:
        assert set(LINKS) <= _foreign_keys()
        with connection.cursor() as cursor:
            # The linked rows are beside the point: skip the 0004 foreign-key checks.
            cursor.execute("SET session_replication_role = replica")
            _old_entries(old_apps, pm_alice.pk)
            cursor.execute("SET session_replication_role = origin")
    finally:
        _migrate(AFTER)
    assert _foreign_keys() == {"actor_id"}
    rows = list(Entry.objects.order_by("seq").values_list(*LINKS))
    assert rows == [(11, 21, 31, 41), (12, 22, None, 42), (13, 23, 33, 43)]
    assert len(_VALUE_FIELDS) == len(chain.FIELDS) + 1
    assert verify() is None
