"""Flushing a database whose journal refuses TRUNCATE: for test teardown and the bench only.

`manage.py flush` (and the teardown of every transactional test) empties the tables with one
TRUNCATE, which the journal's trigger refuses on PostgreSQL (migration journal 0004). Inside
`flush_past_the_journal_guard()` the flush switches that trigger off for its own transaction
(`ALTER TABLE … DISABLE TRIGGER`, which needs the table's owner: the privilege that could
drop the trigger anyway, so production loses nothing) and on again before it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

_SWITCH = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'journal_entry_no_truncate'
               AND tgrelid = to_regclass('journal_entry')) THEN
        ALTER TABLE journal_entry {} TRIGGER journal_entry_no_truncate;
    END IF;
END $$;
"""


def _flush_with_the_guard_off(self: Any, sql_list: Iterable[str]) -> None:
    postgresql = self.connection.vendor == "postgresql"
    with (
        transaction.atomic(
            using=self.connection.alias, savepoint=self.connection.features.can_rollback_ddl
        ),
        self.connection.cursor() as cursor,
    ):
        if postgresql:
            cursor.execute(_SWITCH.format("DISABLE"))
        for sql in sql_list:
            cursor.execute(sql)
        if postgresql:
            cursor.execute(_SWITCH.format("ENABLE"))


@contextmanager
def flush_past_the_journal_guard() -> Iterator[None]:
    original = BaseDatabaseOperations.execute_sql_flush
    BaseDatabaseOperations.execute_sql_flush = _flush_with_the_guard_off  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
