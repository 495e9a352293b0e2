"""The session engine: Django's database sessions, read with one plain-SQL query.

Sessions live in the database only (issue 14 §3.1): a cached copy in Redis outlived its row
whenever Redis missed a delete. The read runs on every request, and compiling the ORM query
costs about as much as running it, so it is plain SQL.
Writes (login, logout, expiry) are Django's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

TABLE = Session._meta.db_table


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        connection = connections[router.db_for_read(Session)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        sql = (
            f"SELECT session_data FROM {connection.ops.quote_name(TABLE)} "
            "WHERE session_key = %s AND expire_date > %s"
        )
        key = self.session_key or ""
        with connection.cursor() as cursor:
            cursor.execute(sql, [key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return Session(session_key=key, session_data=row[0])
