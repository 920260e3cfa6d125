"""Updating many rows with different values in one statement."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def bulk_update_rows(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of every object in one UPDATE … FROM (VALUES …) on PostgreSQL.

    Django's bulk_update builds a CASE per column and row, which costs more to build and to plan than the rest of a
    batch; elsewhere (SQLite, the embedded default: few rows at a time) it is used as it is.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    row = "(" + ", ".join(f"%s::{f.db_type(connection)}" for f in [pk, *columns]) + ")"
    params: list[object] = []
    for obj in objs:
        params.append(pk.get_db_prep_save(obj.pk, connection))
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)
    names = ", ".join(f'"{f.column}"' for f in [pk, *columns])
    assignments = ", ".join(f'"{f.column}" = v."{f.column}"' for f in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM (VALUES {", ".join([row] * len(objs))}) '
            f'AS v({names}) WHERE t."{pk.column}" = v."{pk.column}"',
            params,
        )
