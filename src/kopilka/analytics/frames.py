"""Read the facts analytics needs from the database into Polars frames, fast.

Row-by-row ORM reads would take minutes on ten million purchases, so each frame is one SQL query.
On PostgreSQL, outside a transaction, the queries run over ADBC (PostgreSQL's binary COPY decoded
to Arrow in C) on several connections at once; inside a transaction (tests, or a caller that must
see its own rows) they are streamed on the caller's connection with `COPY (…) TO STDOUT (FORMAT
csv)` and parsed by Polars. On SQLite (the embedded default, small data) it is a plain cursor
read.
Both give the same frames: times travel as whole seconds since the epoch and become aware
datetimes in the business time zone here, so every later step is the same code on both databases.
"""

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_postgresql
import polars as pl
from django.conf import settings
from django.db import connection

from kopilka.core.sql import postgres_url

Schema = dict[str, pl.DataType | type[pl.DataType]]
READ_PARTS = 2  # ranges of table blocks the purchases are read in, on PostgreSQL
READ_THREADS = 2  # connections reading at once: one per core of a small server

PURCHASE_SCHEMA: Schema = {
    "purchase_id": pl.Int64,
    "member_id": pl.Int64,
    "store_id": pl.Int64,
    "epoch": pl.Int64,
    "amount": pl.Int64,
    "discount": pl.Int64,
    "redeem_points": pl.Int64,
    "earn_points": pl.Int64,
}
RETURN_SCHEMA: Schema = {
    "purchase_id": pl.Int64,
    "epoch": pl.Int64,
    "amount": pl.Int64,
    "discount": pl.Int64,
    "earn_reversed": pl.Int64,
    "redeem_refunded": pl.Int64,
}
VOUCHER_SCHEMA: Schema = {
    "purchase_id": pl.Int64,
    "rewards_cost": pl.Int64,
    "voucher_discount": pl.Int64,
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

    purchases: purchase_id, member_id (null for a receipt without a card), store_id, day,
        amount (receipt total before discounts and points), discount, redeem_points,
        earn_points, rewards_cost (what the vouchers used on it cost the business),
        voucher_discount (the part of `discount` those vouchers gave), returned
        (kopecks of this receipt returned before `as_of`, after their discounts), net
        (= amount − discount − returned: the money the receipt kept, points included).
    returns: purchase_id, day, amount (before discounts), discount, earn_reversed,
        redeem_refunded, and the member_id and store_id of the receipt.
    members: member_id, day (of enrolment), enrolled_store_id, enrolled_by_id, status.
    adjustments: ledger transfers other than earn/redeem/return (expiry, manual adjustments),
        summed per business day and kind: kind, day, points.
    """

    as_of: datetime
    purchases: pl.DataFrame
    returns: pl.DataFrame
    members: pl.DataFrame
    adjustments: pl.DataFrame


def _epoch(column: str, *, raw: bool = False) -> str:
    """SQL for whole epoch seconds of a timestamp column; `raw` leaves the timestamp itself,
    which ADBC sends in binary and Polars converts (PostgreSQL's numeric `extract` costs more
    than the whole scan)."""
    if raw:
        return column
    if connection.vendor == "postgresql":
        return f"floor(extract(epoch from {column}))::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _read(sql: str, params: list[Any], schema: Schema) -> pl.DataFrame:
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


def _business_day(epoch: str = "epoch") -> pl.Expr:
    """The business-time-zone date of epoch seconds."""
    return (
        pl.from_epoch(pl.col(epoch), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(settings.TIME_ZONE)
        .dt.date()
        .alias("day")
    )


def _queries(as_of: datetime, *, raw: bool = False) -> dict[str, tuple[str, list[Any], Schema]]:
    until: list[Any] = [as_of]
    return {
        "purchases": (
            f"SELECT id, member_id, store_id, {_epoch('created_at', raw=raw)}, amount, discount, "
            "redeem_points, earn_points FROM pos_purchase WHERE created_at < %s",
            until,
            PURCHASE_SCHEMA,
        ),
        "returns": (
            f"SELECT r.purchase_id, {_epoch('r.created_at', raw=raw)}, r.amount, "
            "COALESCE(d.discount, 0) AS discount, r.earn_reversed, r.redeem_refunded "
            "FROM pos_purchasereturn r LEFT JOIN (SELECT purchase_return_id, "
            "CAST(SUM(discount) AS bigint) AS discount FROM pos_returnline GROUP BY 1) d "
            "ON d.purchase_return_id = r.id WHERE r.created_at < %s",
            until,
            RETURN_SCHEMA,
        ),
        # A voucher used on a receipt costs the business its reward's cost (a voucher a
        # return gave back is no longer used, and costs nothing).
        "vouchers": (
            "SELECT v.purchase_id, CAST(SUM(w.cost) AS bigint) AS rewards_cost, "
            "CAST(SUM(v.discount) AS bigint) AS voucher_discount "
            "FROM rewards_voucher v "
            "JOIN rewards_reward w ON w.id = v.reward_id "
            "WHERE v.purchase_id IS NOT NULL AND v.used_at < %s GROUP BY 1",
            until,
            VOUCHER_SCHEMA,
        ),
        "members": (
            f"SELECT id, {_epoch('created_at', raw=raw)}, enrolled_store_id, enrolled_by_id, status "
            "FROM members_member WHERE created_at < %s",
            until,
            MEMBER_SCHEMA,
        ),
        # Earned and redeemed points are read from the purchases and returns themselves; only
        # the movements without a receipt come from the ledger, summed per hour (business days
        # start on the hour in every time zone Kopilka serves).
        "transfers": (
            f"SELECT kind, {_epoch('created_at')} / 3600 AS hour, CAST(SUM(points) AS bigint) "
            "FROM ledger_transfer WHERE created_at < %s "
            "AND kind NOT IN ('earn', 'redeem', 'return') GROUP BY 1, 2",
            until,
            TRANSFER_SCHEMA,
        ),
    }


def _read_arrow(uri: str, sql: str, as_of: datetime, schema: Schema) -> pl.DataFrame:
    """One query over ADBC: PostgreSQL's binary COPY decoded to Arrow in C, no Python per row."""
    moment = as_of.isoformat()
    assert set(moment) <= set("0123456789-:T+."), moment  # ours, but it goes into SQL text
    with adbc_postgresql.connect(uri) as conn, conn.cursor() as cursor:
        cursor.execute(sql.replace("%s", f"'{moment}'::timestamptz"))
        frame = pl.DataFrame(cursor.fetch_arrow())
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.selectors.datetime().dt.epoch("s"))
    return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(pl.Schema(schema))


def _read_parallel(
    queries: dict[str, tuple[str, list[Any], Schema]], as_of: datetime
) -> dict[str, pl.DataFrame]:
    """PostgreSQL, outside a transaction: the purchases in READ_PARTS ranges of table blocks
    (each a TID range scan of its own part) and the other facts, READ_THREADS connections at a
    time, so the database and the decoding keep every core busy."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size('pos_purchase') / current_setting('block_size')::int"
        )
        blocks = int(cursor.fetchone()[0]) + 1  # rows appended meanwhile land past the end
    sql, _params, schema = queries.pop("purchases")
    step = blocks // READ_PARTS + 1
    starts = [part * step for part in range(READ_PARTS)]
    # The last part has no upper bound: it takes whatever was appended after the size was read.
    ranges = [f"ctid >= '({a},0)' AND ctid < '({b},0)'" for a, b in pairwise(starts)]
    ranges.append(f"ctid >= '({starts[-1]},0)'")
    jobs = [("purchases", f"{sql} AND {blocks_range}", schema) for blocks_range in ranges]
    jobs += [(name, query, schema) for name, (query, _params, schema) in queries.items()]
    uri = postgres_url(connection.settings_dict)
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        frames = list(pool.map(lambda job: _read_arrow(uri, job[1], as_of, job[2]), jobs))
    parts: dict[str, list[pl.DataFrame]] = {}
    for (name, _sql, _schema), frame in zip(jobs, frames, strict=True):
        parts.setdefault(name, []).append(frame)
    return {name: pl.concat(frames) for name, frames in parts.items()}


def frames_load(*, as_of: datetime) -> Frames:
    """Read purchases, returns, members and point adjustments made before `as_of`.

    Inside a transaction everything is read on the caller's connection, so the caller's own
    uncommitted rows are seen; otherwise PostgreSQL is read on several connections at once.
    """
    connection.ensure_connection()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        read = _read_parallel(_queries(as_of, raw=True), as_of)
    else:
        read = {name: _read(*query) for name, query in _queries(as_of).items()}
    return frames_build(as_of=as_of, **read)


def frames_build(
    *,
    as_of: datetime,
    purchases: pl.DataFrame,
    returns: pl.DataFrame,
    members: pl.DataFrame,
    transfers: pl.DataFrame,
    vouchers: pl.DataFrame | None = None,
) -> Frames:
    """Turn raw rows (times as epoch seconds) into the frames every metric reads."""
    if vouchers is None:
        vouchers = pl.DataFrame(schema=VOUCHER_SCHEMA)
    returns_days = returns.lazy().with_columns(_business_day()).drop("epoch")
    returned = returns_days.group_by("purchase_id").agg(
        (pl.col("amount") - pl.col("discount")).sum().alias("returned")
    )
    purchases_days = (
        purchases.lazy()
        .with_columns(_business_day())
        .drop("epoch")
        .join(returned, on="purchase_id", how="left")
        .join(vouchers.lazy(), on="purchase_id", how="left")
        .with_columns(pl.col("returned", "rewards_cost", "voucher_discount").fill_null(0))
        .with_columns((pl.col("amount") - pl.col("discount") - pl.col("returned")).alias("net"))
    )
    returns_days = returns_days.join(
        purchases.lazy().select("purchase_id", "member_id", "store_id"),
        on="purchase_id",
        how="left",
    )
    adjustments = (
        transfers.lazy()
        .with_columns((pl.col("hour") * 3600).alias("epoch"))
        .with_columns(_business_day())
        .group_by("kind", "day")
        .agg(pl.col("points").sum())
        .sort("day", "kind")
    )
    built = pl.collect_all(
        [
            purchases_days,
            returns_days,
            members.lazy().with_columns(_business_day()).drop("epoch"),
            adjustments,
        ]
    )
    return Frames(as_of, *built)


def business_day_bounds(start: date, end: date) -> pl.Expr:
    """Rows whose business day is in [start, end)."""
    return pl.col("day").is_between(start, end, closed="left")
