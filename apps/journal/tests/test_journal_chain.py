"""Append-only, hash-chained: edits and deletions are refused, and detected if forced."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from apps.journal import chain
from apps.journal.models import Entry, EntryKind, ImmutableEntry
from apps.journal.services import record, verify

pytestmark = pytest.mark.django_db


def _three(user) -> list[Entry]:
    return [
        record(
            kind=EntryKind.NOTE,
            actor=user,
            on_date=date(2025, 2, 3),
            note=f"note {i}",
            snapshot={"i": i, "amount": "1234.50"},
        )
        for i in range(3)
    ]


def test_entries_link_into_a_chain(pm_alice) -> None:
    first, second, third = _three(pm_alice)
    assert first.prev_hash == chain.GENESIS
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert verify() is None


def test_the_model_refuses_update_and_delete(pm_alice) -> None:
    entry = _three(pm_alice)[0]
    entry.note = "rewritten"
    with pytest.raises(ImmutableEntry):
        entry.save()
    with pytest.raises(ImmutableEntry):
        entry.delete()
    with pytest.raises(ImmutableEntry):
        Entry.objects.filter(pk=entry.pk).update(note="x")
    with pytest.raises(ImmutableEntry):
        Entry.objects.all().delete()


def test_record_outside_a_transaction_is_refused(pm_alice) -> None:
    # pytest-django wraps each test in a transaction; leave it to check the guard.
    with pytest.raises(RuntimeError, match="inside the transaction"):
        transaction.get_connection().in_atomic_block = False
        try:
            record(kind=EntryKind.NOTE, actor=pm_alice, note="x")
        finally:
            transaction.get_connection().in_atomic_block = True


def test_verify_journal_command_reports_an_intact_chain(pm_alice) -> None:
    _three(pm_alice)
    out = StringIO()
    call_command("verify_journal", stdout=out)
    assert "intact: 3 entries" in out.getvalue()


postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")


@postgres
def test_raw_sql_update_and_delete_fail_on_postgresql(pm_alice) -> None:
    entry = _three(pm_alice)[1]
    for sql in (
        "UPDATE journal_entry SET note = 'forged' WHERE id = %s",
        "DELETE FROM journal_entry WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])


@postgres
def test_truncate_of_the_journal_is_refused_on_postgresql(pm_alice) -> None:
    """A row trigger never sees TRUNCATE: a statement-level one refuses it, also when it
    arrives as the CASCADE of another table's TRUNCATE. (SQLite has no TRUNCATE: its
    `DELETE FROM` without a WHERE is a row delete, which the chain detects.)"""
    _three(pm_alice)
    with connection.cursor() as cursor:  # as if committed: no deferred FK check pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for sql in ("TRUNCATE journal_entry", "TRUNCATE auth_user CASCADE"):
        with (
            pytest.raises(Exception, match="append-only: TRUNCATE refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert Entry.objects.count() == 3 and verify() is None


def _with_trigger_disabled(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        # A superuser bypassing ordinary triggers: the attack the hash chain exists for.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = origin")


@postgres
def test_an_edit_forced_past_the_trigger_is_found_exactly(pm_alice) -> None:
    entries = _three(pm_alice)
    _with_trigger_disabled(
        "UPDATE journal_entry SET note = 'forged' WHERE id = %s", [entries[1].pk]
    )
    broken = verify()
    assert broken is not None and broken.seq == 2
    assert "altered" in broken.reason
    with pytest.raises(CommandError, match="BROKEN at entry #2"):
        call_command("verify_journal")


@postgres
def test_a_deleted_entry_is_found(pm_alice) -> None:
    entries = _three(pm_alice)
    _with_trigger_disabled("DELETE FROM journal_entry WHERE id = %s", [entries[1].pk])
    broken = verify()
    assert broken is not None and broken.seq == 2
    assert "missing" in broken.reason


@postgres
def test_a_snapshot_edit_is_found(pm_alice) -> None:
    entries = _three(pm_alice)
    _with_trigger_disabled(
        """UPDATE journal_entry SET snapshot = '{"i": 2, "amount": "9999.99"}' WHERE id = %s""",
        [entries[2].pk],
    )
    broken = verify()
    assert broken is not None and broken.seq == 3


def test_an_edit_on_any_database_is_found_by_the_chain(pm_alice) -> None:
    """Without the trigger (SQLite), a raw edit still breaks the chain at that entry."""
    entries = _three(pm_alice)
    if connection.vendor == "postgresql":
        _with_trigger_disabled(
            "UPDATE journal_entry SET kind = 'MTM_RUN' WHERE id = %s", [entries[0].pk]
        )
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE journal_entry SET kind = 'MTM_RUN' WHERE id = %s", [entries[0].pk]
            )
    broken = verify()
    assert broken is not None and broken.seq == 1
