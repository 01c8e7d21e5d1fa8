"""Read the facts analytics needs from the database into Polars frames, fast.

Row-by-row ORM reads would take minutes on ten million purchases, so each frame is one SQL query:
on PostgreSQL it is streamed with `COPY (…) TO STDOUT (FORMAT csv)` and parsed by Polars'
multi-threaded CSV reader; on SQLite (the embedded default, small data) it is a plain cursor read.
Both give the same frames: times travel as whole seconds since the epoch and become aware
datetimes in the business time zone here, so every later step is the same code on both databases.
"""

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection

Schema = dict[str, Any]
READ_PARTS = 4  # id ranges the purchases are read in, on PostgreSQL
READ_THREADS = 3  # connections reading at once

PURCHASE_SCHEMA: Schema = {
    "purchase_id": pl.Int64,
    "member_id": pl.Int64,
    "store_id": pl.Int64,
    "epoch": pl.Int64,
    "amount": pl.Int64,
    "redeem_points": pl.Int64,
    "earn_points": pl.Int64,
}
RETURN_SCHEMA: Schema = {
    "purchase_id": pl.Int64,
    "epoch": pl.Int64,
    "amount": pl.Int64,
    "earn_reversed": pl.Int64,
    "redeem_refunded": pl.Int64,
}
MEMBER_SCHEMA: Schema = {
    "member_id": pl.Int64,
    "epoch": pl.Int64,
    "enrolled_store_id": pl.Int64,
    "enrolled_by_id": pl.Int64,
    "status": pl.String,
}
TRANSFER_SCHEMA: Schema = {"kind": pl.String, "hour": pl.Int64, "points": pl.Int64}


@dataclass(frozen=True)
class Frames:
    """Everything up to `as_of` (exclusive). Money in kopecks, times in the business time zone.

    purchases: purchase_id, member_id (null for a receipt without a card), store_id, at, day,
        amount (receipt total before points), redeem_points, earn_points, returned (kopecks of
        this receipt returned before `as_of`), earn_reversed, redeem_refunded, net (= amount −
        returned).
    returns: purchase_id, at, day, amount, earn_reversed, redeem_refunded, and the member_id and
        store_id of the receipt.
    members: member_id, at, day, enrolled_store_id, enrolled_by_id, status.
    adjustments: ledger transfers other than earn/redeem/return (expiry, manual adjustments),
        summed per business day and kind: kind, day, points.
    """

    as_of: datetime
    purchases: pl.DataFrame
    returns: pl.DataFrame
    members: pl.DataFrame
    adjustments: pl.DataFrame


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"floor(extract(epoch from {column}))::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _read(sql: str, params: list[Any], schema: Schema) -> pl.DataFrame:
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
            with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                for block in copy:
                    buffer.write(block)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _business_time(epoch: str = "epoch") -> list[pl.Expr]:
    at = (
        pl.from_epoch(pl.col(epoch), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(settings.TIME_ZONE)
    )
    return [at.alias("at"), at.dt.date().alias("day")]


def _queries(as_of: datetime) -> dict[str, tuple[str, list[Any], Schema]]:
    until: list[Any] = [as_of]
    return {
        "purchases": (
            f"SELECT id, member_id, store_id, {_epoch('created_at')}, amount, redeem_points, "
            "earn_points FROM pos_purchase WHERE created_at < %s",
            until,
            PURCHASE_SCHEMA,
        ),
        "returns": (
            f"SELECT purchase_id, {_epoch('created_at')}, amount, earn_reversed, "
            "redeem_refunded FROM pos_purchasereturn WHERE created_at < %s",
            until,
            RETURN_SCHEMA,
        ),
        "members": (
            f"SELECT id, {_epoch('created_at')}, enrolled_store_id, enrolled_by_id, status "
            "FROM members_member WHERE created_at < %s",
            until,
            MEMBER_SCHEMA,
        ),
        # Earned and redeemed points are read from the purchases and returns themselves; only
        # the movements without a receipt come from the ledger, summed per hour (business days
        # start on the hour in every time zone Kopilka serves).
        "transfers": (
            f"SELECT kind, {_epoch('created_at')} / 3600 AS hour, SUM(points) "
            "FROM ledger_transfer WHERE created_at < %s "
            "AND kind NOT IN ('earn', 'redeem', 'return') GROUP BY 1, 2",
            until,
            TRANSFER_SCHEMA,
        ),
    }


def _read_on_own_connection(job: tuple[str, list[Any], Schema]) -> pl.DataFrame:
    try:
        return _read(*job)
    finally:
        connection.close()  # this thread's connection; the caller's is untouched


def _read_parallel(queries: dict[str, tuple[str, list[Any], Schema]]) -> dict[str, pl.DataFrame]:
    """PostgreSQL: several COPY streams at once, purchases split into id ranges, so the
    database and the parser keep every core busy."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM pos_purchase")
        low, high = cursor.fetchone() or (None, None)
    sql, params, schema = queries.pop("purchases")
    jobs: list[tuple[str, tuple[str, list[Any], Schema]]] = list(queries.items())
    if low is not None and high is not None:
        step = (high - low) // READ_PARTS + 1
        jobs = [
            (
                "purchases",
                (f"{sql} AND id >= %s AND id < %s", [*params, start, start + step], schema),
            )
            for start in range(low, high + 1, step)
        ] + jobs
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        frames = list(pool.map(_read_on_own_connection, (job for _name, job in jobs)))
    parts: dict[str, list[pl.DataFrame]] = {"purchases": [pl.DataFrame(schema=schema)]}
    for (name, _job), frame in zip(jobs, frames, strict=True):
        parts.setdefault(name, []).append(frame)
    return {name: pl.concat(frames) for name, frames in parts.items()}


def frames_load(*, as_of: datetime) -> Frames:
    """Read purchases, returns, members and point adjustments made before `as_of`.

    Inside a transaction everything is read on the caller's connection, so the caller's own
    uncommitted rows are seen; otherwise PostgreSQL is read on several connections at once.
    """
    queries = _queries(as_of)
    connection.ensure_connection()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        read = _read_parallel(queries)
    else:
        read = {name: _read(*query) for name, query in queries.items()}
    return frames_build(as_of=as_of, **read)


def frames_build(
    *,
    as_of: datetime,
    purchases: pl.DataFrame,
    returns: pl.DataFrame,
    members: pl.DataFrame,
    transfers: pl.DataFrame,
) -> Frames:
    """Turn raw rows (times as epoch seconds) into the frames every metric reads."""
    returns = returns.with_columns(_business_time()).drop("epoch")
    returned = returns.group_by("purchase_id").agg(
        pl.col("amount").sum().alias("returned"),
        pl.col("earn_reversed").sum(),
        pl.col("redeem_refunded").sum(),
    )
    purchases = (
        purchases.with_columns(_business_time())
        .drop("epoch")
        .join(returned, on="purchase_id", how="left")
        .with_columns(pl.col("returned", "earn_reversed", "redeem_refunded").fill_null(0))
        .with_columns((pl.col("amount") - pl.col("returned")).alias("net"))
    )
    returns = returns.join(
        purchases.select("purchase_id", "member_id", "store_id"), on="purchase_id", how="left"
    )
    members = members.with_columns(_business_time()).drop("epoch")
    adjustments = (
        transfers.with_columns((pl.col("hour") * 3600).alias("epoch"))
        .with_columns(_business_time())
        .group_by("kind", "day")
        .agg(pl.col("points").sum())
        .sort("day", "kind")
    )
    return Frames(
        as_of=as_of,
        purchases=purchases,
        returns=returns,
        members=members,
        adjustments=adjustments,
    )


def business_day_bounds(start: date, end: date) -> pl.Expr:
    """Rows whose business day is in [start, end)."""
    return pl.col("day").is_between(start, end, closed="left")
