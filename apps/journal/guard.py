"""Flushing a database whose journal refuses TRUNCATE: for test teardown and the bench only.

`manage.py flush` (and the teardown of every transactional test) empties the tables with one
TRUNCATE, which the journal's trigger refuses on PostgreSQL (migration journal 0004). Inside
`flush_past_the_journal_guard()` the flush runs with ordinary triggers off
(`session_replication_role = replica`, superuser only): exactly the privilege an operator needs
to drop the trigger anyway, so production loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations


def _flush_with_triggers_off(self: Any, sql_list: Iterable[str]) -> None:
    with (
        transaction.atomic(
            using=self.connection.alias, savepoint=self.connection.features.can_rollback_ddl
        ),
        self.connection.cursor() as cursor,
    ):
        if self.connection.vendor == "postgresql" and sql_list:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in sql_list:
            cursor.execute(sql)


@contextmanager
def flush_past_the_journal_guard() -> Iterator[None]:
    original = BaseDatabaseOperations.execute_sql_flush
    BaseDatabaseOperations.execute_sql_flush = _flush_with_triggers_off  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
