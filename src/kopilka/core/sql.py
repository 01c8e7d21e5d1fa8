"""Plain SQL for the hot path: INSERT built once from the model's metadata, prepared statements.

The ORM spends most of a purchase commit's CPU building objects and compiling SQL; these helpers
keep the model as the single source of column names and value conversion (each field's
`get_db_prep_save`, so SQLite and PostgreSQL get what the ORM would send) and skip the rest.
`prepared_cursor` lets PostgreSQL plan a fixed statement once per connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from django.db import DatabaseError, connection, models, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


@cache
def fields_of(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[models.Field[Any, Any], ...]:
    fields = tuple(model._meta.get_field(name) for name in names)
    assert all(isinstance(field, models.Field) for field in fields), names
    return fields  # type: ignore[return-value]


@cache
def _insert_sql(model: type[models.Model], names: tuple[str, ...], rows: int) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields_of(model, names))
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    pk = quote(str(model._meta.pk.column))
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * rows)} RETURNING {pk}"


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, object]]) -> list[int]:
    """Insert rows (same keys: field names or attnames) in one statement; return their ids in order."""
    if not rows:
        return []
    names = tuple(rows[0])
    fields = fields_of(model, names)
    params = [
        field.get_db_prep_save(row[name], connection)
        for row in rows
        for name, field in zip(names, fields, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, names, len(rows)), params)
        return [row[0] for row in cursor.fetchall()]


def insert_row(model: type[models.Model], **values: object) -> int:
    (row_id,) = insert_rows(model, [values])
    return row_id


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A PostgreSQL cursor that binds parameters on the server: psycopg prepares a statement after
    `prepare_threshold` runs on the connection, so PostgreSQL stops parsing and planning it.

    Django's own cursors bind on the client and never prepare. This one is for the few fixed
    statements of the hot path; it keeps Django's health check, error wrapping and query log.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = psycopg.Cursor(connection.connection)
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(raw, connection) as cursor:
        yield cursor


def read_first(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """One row from a prepared statement that only reads, sent as the request's first statement.

    With CONN_HEALTH_CHECKS Django sends `SELECT 1` before a request's first statement: a round
    trip on every request. A read can be that check itself: when it fails and the connection
    proves broken (PostgreSQL restarted, the network dropped it), reconnect and read again.
    """
    db: Any = connection  # the stubs lack the health-check attributes
    check_due = (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
    )
    if check_due:
        db.health_check_done = True
    try:
        return _fetch_one(sql, params)
    except DatabaseError:
        if not check_due or connection.is_usable():
            raise
        connection.close()
    return _fetch_one(sql, params)


def read_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """One row of a read: prepared and doubling as the health check on PostgreSQL (`read_first`),
    a plain cursor elsewhere. `sql` uses %s placeholders and no vendor-specific syntax."""
    if connection.vendor == "postgresql":
        return read_first(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def db_datetime(value: datetime) -> Any:
    """A datetime as the backend stores it, for parameters of hand-written SQL."""
    return connection.ops.adapt_datetimefield_value(value)


# Connection options psycopg or Django take that are not libpq parameters.
_PSYCOPG_ONLY_OPTIONS = {"prepare_threshold", "server_side_binding", "pool", "isolation_level"}


def postgres_url(settings_dict: Mapping[str, Any], *, name: str | None = None) -> str:
    """A PostgreSQL connection's settings as a URL that libpq, ADBC and DATABASE_URL all accept;
    `name` points it at another database on the same server."""
    auth = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        auth += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
    database = quote(name or settings_dict["NAME"], safe="")
    options = settings_dict.get("OPTIONS") or {}
    query = urlencode({k: v for k, v in options.items() if k not in _PSYCOPG_ONLY_OPTIONS})
    return f"postgresql://{auth}@{host}/{database}" + (f"?{query}" if query else "")


def json_insert_sql(model: type[models.Model], names: Sequence[str], *, gate: str) -> str:
    """`INSERT … SELECT` of the rows given as one JSON array parameter, when the CTE `gate` has a
    row: a building block of one-statement writes (`pos.fast_commit`). `names` are field names
    or attnames; values arrive as JSON and PostgreSQL converts them to the columns' types."""
    quote_name = connection.ops.quote_name
    table = quote_name(model._meta.db_table)
    columns = ", ".join(quote_name(str(field.column)) for field in fields_of(model, tuple(names)))
    return (
        f"INSERT INTO {table} ({columns}) SELECT {columns} "
        f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) WHERE EXISTS (SELECT 1 FROM {gate})"
    )


def json_rows(model: type[models.Model], rows: Sequence[Mapping[str, object]]) -> str:
    """Rows keyed by column name, as the JSON `json_insert_sql` reads."""
    import json

    if not rows:
        return "[]"
    names = tuple(rows[0])
    columns = [str(field.column) for field in fields_of(model, names)]
    return json.dumps(
        [dict(zip(columns, (row[name] for name in names), strict=True)) for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """A value in COPY's text format (psycopg's per-value dumpers cost more than the rest of
    writing a million rows)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def copy_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    skip_existing: bool = True,
) -> int:
    """Insert many rows (plain values in `names` order: field names or attnames), skipping any
    that a unique constraint already holds; how many were inserted.

    On PostgreSQL the rows stream by COPY into a temporary table and one `INSERT … SELECT … ON
    CONFLICT DO NOTHING` moves them (a million rows in seconds); rows that cannot exist yet
    (`skip_existing=False`: a new campaign's audience) are copied straight into the table, and a
    duplicate among them fails the copy. Elsewhere `bulk_create` in batches.
    """
    fields = fields_of(model, tuple(names))
    if connection.vendor != "postgresql":
        batch: list[models.Model] = []
        before = model._default_manager.count()
        for row in rows:
            batch.append(model(**{f.attname: v for f, v in zip(fields, row, strict=True)}))
            if len(batch) == 2000:
                model._default_manager.bulk_create(batch, ignore_conflicts=True)
                batch = []
        model._default_manager.bulk_create(batch, ignore_conflicts=True)
        return model._default_manager.count() - before
    quote_name = connection.ops.quote_name
    table = quote_name(model._meta.db_table)
    columns = ", ".join(quote_name(str(f.column)) for f in fields)
    if not skip_existing:
        with transaction.atomic(), connection.cursor() as cursor:
            return _copy_into(cursor, table, columns, rows)
    staging = quote_name(f"copy_{model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        _copy_into(cursor, staging, columns, rows)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
            "ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE {staging}")  # now: the caller's transaction may go on
        return inserted


def _copy_into(cursor: Any, table: str, columns: str, rows: Iterable[Sequence[object]]) -> int:
    raw: Any = cursor.cursor  # psycopg's own cursor: COPY
    count = 0
    with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        block: list[str] = []
        for row in rows:
            block.append("\t".join(map(_copy_text, row)))
            if len(block) == 10_000:
                copy.write("\n".join(block) + "\n")
                count += len(block)
                block = []
        if block:
            copy.write("\n".join(block) + "\n")
            count += len(block)
    return count


def update_rows(objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """`bulk_update` of one model's objects in one statement with one parameter on PostgreSQL:
    the rows as JSON, typed by `jsonb_populate_recordset` (Django's `bulk_update` builds a `CASE`
    per field and row, which costs more than anything else a round of the sender does)."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields)
        return
    import json

    quote_name = connection.ops.quote_name
    table = quote_name(model._meta.db_table)
    if model._meta.pk is None or model._meta.pk.column != "id":
        raise NotImplementedError("update_rows takes models whose primary key is `id`")
    columns = fields_of(model, tuple(fields))
    sets = ", ".join(
        f"{quote_name(str(f.column))} = v.{quote_name(str(f.column))}" for f in columns
    )
    rows = [
        {"id": obj.pk, **{str(f.column): getattr(obj, f.attname) for f in columns}}
        for obj in objects
    ]
    sql = (
        f"UPDATE {table} SET {sets} FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) AS v "
        f"WHERE {table}.id = v.id"
    )
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=str)
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
