"""The purchase commit on PostgreSQL in two statements: a read, then one guarded write.

1. One read without a lock: ids from the sequences (the purchase, two transfers), the member's
   `GUARD_COLUMNS` and `state_version`, their open lots and this month's rule uses.
2. In Python: the quote (the one engine), the ledger's plan (the one planner), the response,
   and every row (the same row builders as the locked path).
3. One statement writes them all: it claims the idempotency key, moves the member's cached
   balance and `state_version` only if the version and every state column are still what the
   read saw, and inserts each table's rows from a JSON array only if that guard matched. A guard
   that did not match makes the statement refuse (`kopilka_refuse`, SQLSTATE KP002), a used key
   or receipt number fails on its unique index (23505); nothing is written, and the locked path
   (`pos.services.purchase_commit` under `run_idempotent`) answers.

SQL here decides nothing: what to write is the planner's, the guard is a version check. A field
the engine reads is either a state column (compared by the guard) or rows written only through
the ledger's applier (which moves the version), see `ledger.state`.
"""

import json
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import date, datetime
from functools import cache
from typing import Any

from django.db import DatabaseError, connection, transaction
from psycopg.types.numeric import Int8

from kopilka.core import clock
from kopilka.core.audit import audit_row
from kopilka.core.errors import DomainError
from kopilka.core.jsontext import JsonText, encode
from kopilka.core.models import AuditEntry, IdempotencyRecord
from kopilka.core.phones import normalize_phone
from kopilka.core.sql import json_insert_sql, json_rows, prepared_cursor, read_first
from kopilka.ledger.apply import lot_rows, plan_rows, transfer_rows
from kopilka.ledger.models import LotSpend, PointLot, Posting, RuleUse, Transfer
from kopilka.ledger.plan import OpenLot, points_of
from kopilka.ledger.state import (
    GUARD_COLUMNS,
    STATE_COLUMNS,
    local_day,
    month_start,
    uses_of,
    window_start,
)
from kopilka.members.models import Card, Member
from kopilka.pos.models import Purchase, PurchaseLine, ReturnLine
from kopilka.pos.receipts import (
    MemberRef,
    QuoteResult,
    ReceiptIn,
    audit_data,
    engine_receipt,
    line_rows,
    purchase_instance,
    purchase_plan,
    purchase_row,
    receipt_check,
)
from kopilka.pos.stores import Seller
from kopilka.program import engine
from kopilka.program.selectors import program_in_force

Render = Callable[[Purchase, QuoteResult], Mapping[str, Any]]
# Raised by the write's guard (member changed) and for a used key or receipt number.
_LOCKED_PATH_DECIDES = {"KP002", "23505"}
_SEQ = "nextval(pg_get_serial_sequence(%s, 'id'))"


def _window_sql() -> str:
    """`ledger.state.window_spend` as a column: the spend a tier counts (since %s, twice)."""
    purchase, line = Purchase._meta.db_table, PurchaseLine._meta.db_table
    returned = ReturnLine._meta.db_table
    return (
        f"(SELECT COALESCE(SUM(p.amount - p.discount), 0)::bigint FROM {purchase} p "
        "WHERE p.member_id = m.id AND COALESCE(p.purchased_at, p.created_at) >= %s) - "
        f"(SELECT COALESCE(SUM(r.amount - r.discount), 0)::bigint FROM {returned} r "
        f"JOIN {line} pl ON pl.id = r.purchase_line_id JOIN {purchase} p ON p.id = pl.purchase_id "
        "WHERE r.member_id = m.id AND COALESCE(p.purchased_at, p.created_at) >= %s)"
    )


def _read_sql(where: str, window: bool) -> str:
    lot, use = PointLot._meta.db_table, RuleUse._meta.db_table
    columns = ", ".join(f"m.{column}" for column in GUARD_COLUMNS)
    return (
        f"SELECT {_SEQ}, {_SEQ}, {_SEQ}, m.id, m.state_version, {columns}, "
        "(SELECT COALESCE(json_agg(json_build_array(l.id, l.remaining, l.available_at, "
        f"l.expires_at) ORDER BY l.expires_at, l.id), '[]'::json) FROM {lot} l "
        "WHERE l.member_id = m.id AND l.remaining > 0 AND l.expires_at > %s), "
        f"(SELECT COALESCE(json_agg(json_build_array(u.rule, u.day)), '[]'::json) FROM {use} u "
        "WHERE u.member_id = m.id AND u.day >= %s AND u.day <= %s), "
        f"{_window_sql() if window else '0'} "
        f"FROM {Member._meta.db_table} m WHERE {where}"
    )


_WHERE = {
    "id": "m.id = %s",
    "phone": "m.phone = %s",
    "card": (
        f"m.id = (SELECT member_id FROM {Card._meta.db_table} WHERE number = %s AND status = %s)"
    ),
}
# (how the member is named, whether the program has tiers) -> the read
_READ_SQL = {
    (kind, window): _read_sql(where, window)
    for kind, where in _WHERE.items()
    for window in (False, True)
}


class _LockedPathDecides(Exception):
    """The read found nothing to commit on (no such member, not active): the locked path words it."""


def _next_month(day: date) -> date:
    first = month_start(day)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def _read(
    ref: MemberRef, receipt_at: datetime, time_zone: str, at: datetime, program: engine.Program
) -> tuple[int, list[int], engine.MemberState | None, list[OpenLot], tuple[object, ...]]:
    """(purchase id, transfer ids, member state, open lots, guard values). The request's first
    statement, so it is also the connection's health check (`read_first`)."""
    tables = [Purchase._meta.db_table, Transfer._meta.db_table, Transfer._meta.db_table]
    if not ref.given:
        row = read_first(f"SELECT {_SEQ}", tables[:1])
        assert row is not None
        return row[0], [], None, [], ()
    values: list[object]
    if ref.member_id is not None:
        kind, values = "id", [Int8(ref.member_id)]
    elif ref.phone:
        kind, values = "phone", [normalize_phone(ref.phone)]
    else:
        kind, values = "card", [(ref.card_number or "").strip(), Card.Status.ACTIVE]
    day = local_day(receipt_at, time_zone)
    window = bool(program.tiers)
    since = [window_start(at, program)] * 2 if window else []
    row = read_first(
        _READ_SQL[kind, window],
        [*tables, at, month_start(day), _next_month(day), *since, *values],
    )
    if row is None:
        raise _LockedPathDecides
    purchase_id, t1, t2, member_id, version, *columns, lots_json, uses_json, spend = row
    state_values = dict(zip(GUARD_COLUMNS, columns, strict=True))
    if state_values["status"] != Member.Status.ACTIVE:
        raise _LockedPathDecides
    lots = [
        OpenLot(
            lot_id, remaining, datetime.fromisoformat(available), datetime.fromisoformat(expires)
        )
        for lot_id, remaining, available, expires in lots_json
    ]
    day_uses, month_uses = uses_of([(rule, date.fromisoformat(d)) for rule, d in uses_json], day)
    available, pending = points_of(lots, at)
    state = engine.MemberState(
        member_id=member_id,
        available=available,
        pending=pending,
        **{field: state_values[column] for field, column in STATE_COLUMNS.items()},
        day_uses=day_uses,
        month_uses=month_uses,
        window_spend=spend,
    )
    return purchase_id, [t1, t2], state, lots, (version, *columns)


# (model, its CTE's name): the tables a purchase writes besides the claim and the member row.
_TABLES = (
    (Purchase, "purchase"),
    (PurchaseLine, "lines"),
    (Transfer, "transfers"),
    (Posting, "postings"),
    (PointLot, "lots"),
    (LotSpend, "spends"),
    (RuleUse, "uses"),
    (AuditEntry, "audit"),
)
_CLAIM_COLUMNS = ("scope", "key", "request_hash", "status_code", "response", "created_at")


@cache
def _write_sql(member: bool, names: tuple[tuple[str, ...], ...]) -> str:
    """The one statement; `names` are each table's row keys, in `_TABLES` order."""
    quote_name = connection.ops.quote_name
    claim_table = quote_name(IdempotencyRecord._meta.db_table)
    claim_columns = ", ".join(quote_name(c) for c in _CLAIM_COLUMNS)
    # The response arrives as its own parameter: the text the request answers with.
    record_columns = claim_columns.replace(quote_name("response"), "%s::jsonb")
    ctes = [
        f"claim AS (INSERT INTO {claim_table} ({claim_columns}) SELECT {record_columns} "
        f"FROM jsonb_populate_record(NULL::{claim_table}, %s::jsonb) RETURNING id)"
    ]
    gate = "claim"
    if member:
        checks = " AND ".join(f"{column} = %s" for column in GUARD_COLUMNS)
        ctes.append(
            f"guard AS (UPDATE {Member._meta.db_table} SET points_balance = points_balance + %s, "
            "spend_total = spend_total + %s, state_version = state_version + 1 "
            f"WHERE id = %s AND state_version = %s AND {checks} "
            "AND EXISTS (SELECT 1 FROM claim) RETURNING id)"
        )
        gate = "guard"
        lot = PointLot._meta.db_table
        ctes.append(
            f"takes AS (UPDATE {lot} SET remaining = {lot}.remaining - t.points "
            "FROM jsonb_to_recordset(%s::jsonb) AS t(id bigint, points bigint) "
            # The member's open lots, by the FIFO index: PostgreSQL guesses 100 rows for the JSON
            # and would hash-join them against a scan of every lot of every member.
            f"WHERE {lot}.id = t.id AND {lot}.member_id = %s AND {lot}.remaining > 0 "
            "AND EXISTS (SELECT 1 FROM guard))"
        )
    for (model, name), keys in zip(_TABLES, names, strict=True):
        if keys:
            ctes.append(f"{name} AS ({json_insert_sql(model, keys, gate=gate)})")
    refuse = (
        "SELECT kopilka_refuse('member state changed since the read') "
        "WHERE NOT EXISTS (SELECT 1 FROM guard)"
        if member
        else "SELECT 1"
    )
    return "WITH " + ",\n".join(ctes) + "\n" + refuse


def commit_in_one_statement(
    *, seller: Seller, receipt: ReceiptIn, key: str, request_hash: str, render: Render
) -> JsonText | None:
    """The usual purchase in two statements; None when the locked path must decide."""
    now = clock.now()
    if receipt.vouchers:
        return None  # a voucher is used once under a row lock: the locked path does it
    try:
        receipt_check(seller, receipt, now)
        priced = engine_receipt(seller, receipt, now)
        program = program_in_force(priced.at)
        purchase_id, transfer_ids, state, lots, guard = _read(
            receipt.member, priced.at, priced.time_zone, now, program
        )
        quote = engine.quote(priced, state, program, receipt.redeem)
    except (DomainError, _LockedPathDecides):
        return None
    if any(isinstance(e, engine.TierReached) for e in quote.effects):
        return None  # a tier change is rare: the locked path writes it and its event
    member_id = state.member_id if state else None
    row = purchase_row(seller, receipt, quote, member_id, now)
    body = encode(render(purchase_instance(row, purchase_id), QuoteResult(quote, member_id)))
    tables: list[list[dict[str, object]]] = [
        [{"id": purchase_id, **row}],
        line_rows(purchase_id, member_id, receipt, quote),
    ]
    params: list[Any] = [
        body,
        json.dumps(
            {
                "scope": seller.idempotency_scope,
                "key": key,
                "request_hash": request_hash,
                "status_code": 201,
                "created_at": now,
            },
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        ),
    ]
    if state is not None:
        plan = purchase_plan(seller, quote, state.member_id, purchase_id, lots, now)
        if len(plan.transfers) > len(transfer_ids) or any(
            not isinstance(take.lot, int) for take in plan.takes
        ):
            return None  # a shape this path does not write: the locked path does
        ids = transfer_ids[: len(plan.transfers)]
        rows = plan_rows(plan, ids, [])
        tables += [
            [{"id": tid, **t} for tid, t in zip(ids, transfer_rows(plan), strict=True)],
            rows.postings,
            lot_rows(plan, ids),
            rows.spends,
            rows.rule_uses,
        ]
        # As int8 whatever their size: psycopg types a Python int by its value, and a statement
        # is prepared per parameter types.
        figures = [plan.balance_delta, plan.spend_delta, state.member_id]
        params += [Int8(x) if isinstance(x, int) else x for x in (*figures, *guard)]
        params.append(json.dumps([{"id": lot, "points": p} for lot, p in rows.lot_takes]))
        params.append(Int8(state.member_id))
    else:
        tables += [[], [], [], [], []]
    tables.append(
        [
            audit_row(
                actor=seller.actor,
                action="purchase.commit",
                target_type="purchase",
                target_id=purchase_id,
                member_id=member_id,
                data=audit_data(quote),
                at=now,
            )
        ]
    )
    names = tuple(tuple(rows_[0]) if rows_ else () for rows_ in tables)
    params += [
        json_rows(model, rows_)
        for (model, _name), rows_ in zip(_TABLES, tables, strict=True)
        if rows_
    ]
    # Inside a transaction (tests, a caller's atomic block) a savepoint keeps a refusal contained;
    # otherwise the statement is its own transaction.
    sql = _write_sql(state is not None, names)
    try:
        with (
            transaction.atomic() if connection.in_atomic_block else nullcontext(),
            prepared_cursor() as cursor,
        ):
            cursor.execute(sql, params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _LOCKED_PATH_DECIDES:
            return None
        raise
    return body
