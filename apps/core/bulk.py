"""The one bulk row writer: what `bulk_create` writes, without its SQL building.

`bulk_create` spends most of its time in Python: compiling one INSERT per batch with every
value prepared and placed. For the MTM's 10,000 marks of 20-odd columns that costs more than
the database's work. Here the values are taken the way Django takes them (`pre_save`, then
`get_db_prep_save` where the driver needs it) and written with `executemany` on SQLite (in
process, no round trips) or COPY on PostgreSQL (one stream, adapted by psycopg). No signals,
no primary keys set on the instances: use it where `bulk_create` is used for exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert new instances (no signals, no primary keys set on them)."""
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    if meta.pk is not None and meta.pk in fields and getattr(objs[0], meta.pk.attname) is None:
        fields.remove(meta.pk)  # an AutoField pk declared explicitly: the database numbers rows
    insert_values(model, fields, ([f.pre_save(obj, True) for f in fields] for obj in objs))


def insert_values(
    model: type[Model], fields: Sequence[Field[Any, Any]], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert rows given as values of `fields`, in order (what a model instance's fields would
    hold after `pre_save`: a foreign key's id, a Decimal, a date), without instances."""
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    q = connection.ops.quote_name
    columns = ", ".join(q(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_sql = f"COPY {q(meta.db_table)} ({columns}) FROM STDIN"
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {q(meta.db_table)} ({columns}) VALUES ({placeholders})"
        params: list[list[Any]] = [
            [f.get_db_prep_save(value, connection) for f, value in zip(fields, row, strict=True)]
            for row in rows
        ]
        if params:
            cursor.executemany(sql, params)
