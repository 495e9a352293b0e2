"""The authentication backend: Django's ModelBackend that loads the user's roles with the user.

Every request loads the session's user once; navigation, the failure banner and every
permission check then ask for the user's roles. Loading the role names in the same query (a
correlated, aggregated subquery) saves a query on every page. Plain SQL: compiling the ORM
version costs more than running it, on every request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

SEPARATOR = "|"  # role names are identifiers (apps.core.roles.Role); other groups don't matter
AGGREGATE = {"postgresql": "STRING_AGG(g.name, '|')", "sqlite": "GROUP_CONCAT(g.name, '|')"}


class RoleLoadingBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        alias = router.db_for_read(model)
        vendor = connections[alias].vendor
        if vendor not in AGGREGATE:  # another database: Django's two queries
            return super().get_user(user_id)
        connection = connections[alias]
        q = connection.ops.quote_name
        through = model.groups.through  # type: ignore[attr-defined]
        group = q(through._meta.get_field("group").related_model._meta.db_table)
        table, concrete = model._meta.db_table, model._meta.concrete_fields
        sql = (
            f"SELECT {', '.join(f'u.{q(str(f.column))}' for f in concrete)}, "
            f"(SELECT {AGGREGATE[vendor]} FROM {q(through._meta.db_table)} m "
            f"JOIN {group} g ON g.id = m.group_id WHERE m.user_id = u.id) "
            f"FROM {q(table)} u WHERE u.{q(str(model._meta.pk.column))} = %s"
        )
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = []
        for field, value in zip(concrete, row, strict=False):  # SQLite booleans, time zones
            column = field.get_col(table)
            for convert in connection.ops.get_db_converters(column) + field.get_db_converters(
                connection
            ):
                value = convert(value, column, connection)
            values.append(value)
        user: Any = model.from_db(alias, [f.attname for f in concrete], values)
        user._pms_roles = frozenset(filter(None, (row[-1] or "").split(SEPARATOR)))
        return user if self.user_can_authenticate(user) else None
