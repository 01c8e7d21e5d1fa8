#!/usr/bin/env python
"""Synthetic loyalty data at scale for the analytics pipeline: 1M members, 10M purchases.

    .venv/bin/python bench/analytics_data.py --recreate
    .venv/bin/python bench/analytics_data.py --database-url postgres://postgres@127.0.0.1:5432/kopilka_analytics_bench_small \\
        --members 20000 --purchases 200000 --recreate --check

What is written (the tables the analytics pipeline reads, nothing else):

- `pos_store`: --stores stores (Europe/Moscow), `auth_user`: --cashiers cashiers per store
  (not staff, unusable password);
- `members_member`: --members members, ids in enrolment order, enrolments spread over the three
  years before --end and growing (three times as many at the end as at the start); phone
  +7916xxxxxxx (unique), a name, status active (0.5 % blocked), enrolling store and cashier
  (4 % enrolled without a cashier), `points_balance` equal to what the rows below add up to:
  sum(earn_points) - sum(redeem_points) - sum(earn_reversed) + sum(redeem_refunded) + sum(expire
  points), never negative;
- `pos_purchase`: --purchases receipts, --anonymous-share of them (20 %) without a member;
  ids and per-store receipt numbers ("1", "2", ...) follow time; every receipt is inside opening
  hours (8:00-22:00 Moscow, busier evenings, weekends and December), after its member's
  enrolment; amount in kopecks, redeem_points <= 30 % of it, payable = amount - 100 * redeem,
  earn_points = floor(5 % of payable in roubles) (0 without a member), as the program's default
  rules compute them; terminal_id NULL;
- `pos_purchasereturn`: 0.5 % of receipts, 60 % full, the rest partial, 0 to 14 days later,
  earn taken back and redeemed points refunded in proportion (earn_not_recovered 0);
- `ledger_transfer`: kind 'expire' only, at most one per member per month (the 1st at 00:05
  Moscow): points of earns whose lot has expired (earned day + 365 days, as `lot_dates` sets
  it) and that were not spent first-in-first-out by redemptions and return take-backs.

Not written: earn/redeem/return transfers, postings, point lots, lot spends, purchase and return
lines, cards, consents, audit. The analytics pipeline reads earned and redeemed points from
`pos_purchase` and `pos_purchasereturn`; so `manage.py ledger_check` does not hold on this data,
and the POS API must not be used on it.

Customers follow the BG/NBD story (Fader, Hardie & Lee 2005) so CLV models have signal to find:
every member makes the enrolment purchase, then buys as a Poisson process with rate
lambda ~ Gamma(r=0.9, alpha) per day (alpha calibrated so the expected member purchases hit
(1 - anonymous share) * --purchases), and after each repeat purchase drops out for good with
probability p ~ Beta(a=0.7, b=3.5). Time runs on a calendar weighted by weekday and month, so
"more on Saturdays" holds and lambda is per average day. Receipts follow Gamma-Gamma (Fader,
Hardie & Lee 2005b): amount ~ Gamma(shape 6, rate nu), nu ~ Gamma(shape 4, rate gamma), with
gamma set so the mean receipt is --mean-receipt roubles (600). Most members buy once or a few
times; a small loyal core buys weekly or more. 40 % of members ever redeem: when they hold at
least 100 points they redeem the maximum with a personal probability. Anonymous receipts are
spread evenly over the three years and the stores (same weekday/hour profile).

The load runs in one transaction: indexes and constraints of the four large tables are dropped
(with every foreign key pointing at them), the tables truncated and loaded with binary
`COPY ... FREEZE` built by NumPy, then every index and constraint is recreated from its own
definition (so foreign keys are validated against the data) and the sequences set; ANALYZE
follows. Any failure rolls all of it back. Progress goes to stderr; one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from benchdb import database_create, database_name, libpq_url

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "manage.py"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_analytics_bench"

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

TIME_ZONE = "Europe/Moscow"
US = 1_000_000  # microseconds per second
DAY_US = 86_400 * US
HOUR_US = 3_600 * US
OPEN_HOUR, CLOSE_HOUR = 8, 22
# Share of receipts per opening hour 8..21: morning, lunch, the evening peak.
HOUR_WEIGHTS = (3, 5, 6, 6, 7, 8, 7, 6, 7, 9, 11, 11, 9, 5)
WEEKDAY_WEIGHTS = (0.92, 0.92, 0.95, 0.97, 1.10, 1.30, 1.20)  # Monday .. Sunday
MONTH_WEIGHTS = (0.90, 0.95, 1.0, 1.0, 0.97, 0.95, 0.93, 0.95, 1.0, 1.02, 1.05, 1.20)
ENROL_GROWTH = 2.0  # enrolments per day grow linearly: x3 at the end compared to the start
YEARS = 3

# BG/NBD and Gamma-Gamma parameters (rates per average calendar day; money in kopecks).
BGNBD_R = 0.9
BGNBD_A, BGNBD_B = 0.7, 3.5
GG_P, GG_Q = 6.0, 4.0
MIN_AMOUNT = 100  # kopecks

# Program rules (the defaults of kopilka.program.engine.Rules).
POINT_VALUE = 100  # kopecks per point
EARN_DIVISOR = 2000  # earn = payable * 500 bp // (10_000 * 100)
REDEEM_SHARE_PER_MILLE = 3  # redeem <= amount * 3000 bp // (10_000 * 100)
EXPIRY_DAYS = 365
EXPIRY_RUN = 5 * 60 * US  # the expiry job runs at 00:05
EXPIRE_ACTOR = "system:expire_points"  # Actor.system("expire_points").label

HOME_STORE_SHARE = 0.8
REDEEMER_SHARE = 0.4
REDEEM_MIN_POINTS = 100
RETURN_SHARE = 0.005
FULL_RETURN_SHARE = 0.6
BLOCKED_SHARE = 0.005
NO_CASHIER_SHARE = 0.04

MEMBER_CHUNK = 100_000
PURCHASE_CHUNK = 500_000

BIG_TABLES = ("members_member", "pos_purchase", "pos_purchasereturn", "ledger_transfer")
SMALL_TABLES = ("pos_store", "auth_user")

STORE_NAMES = (
    "Тверская",
    "Арбат",
    "Чистые пруды",
    "Сокол",
    "Таганка",
    "Марьино",
    "Бутово",
    "Химки",
    "Митино",
    "Люблино",
    "Кунцево",
    "Медведково",
    "Перово",
    "Строгино",
    "Выхино",
    "Отрадное",
)
MALE_FIRST: tuple[str, ...] = (
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Иван",
    "Михаил",
    "Артём",
    "Никита",
    "Евгений",
    "Павел",
    "Роман",
    "Олег",
    "Владимир",
    "Игорь",
)
FEMALE_FIRST: tuple[str, ...] = (
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Екатерина",
    "Светлана",
    "Юлия",
    "Анастасия",
    "Дарья",
    "Ксения",
    "Алина",
    "Полина",
    "Вера",
)
SURNAMES: tuple[str, ...] = (  # male forms; the female ones add "а"
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
)


def log(message: str) -> None:
    print(f"[analytics_data {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--members", type=int, default=1_000_000)
    p.add_argument("--purchases", type=int, default=10_000_000, help="target, member + anonymous")
    p.add_argument(
        "--end",
        type=date.fromisoformat,
        default=date(2026, 11, 1),
        help="first day not covered (Moscow); data spans the three years before it",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stores", type=int, default=12)
    p.add_argument("--cashiers", type=int, default=5, help="cashiers per store")
    p.add_argument("--anonymous-share", type=float, default=0.2)
    p.add_argument("--mean-receipt", type=float, default=600.0, help="roubles")
    p.add_argument(
        "--recreate", action="store_true", help="drop and create the database, then migrate"
    )
    p.add_argument(
        "--force", action="store_true", help="allow --recreate on a name without 'bench'"
    )
    p.add_argument(
        "--check", action="store_true", help="run consistency queries after the load (slower)"
    )
    args = p.parse_args(argv)
    if args.members < 1 or args.stores < 1 or args.cashiers < 1:
        p.error("--members, --stores and --cashiers must be positive")
    if args.members > 10_000_000:
        p.error("--members is at most 10,000,000 (phones are +7916 and 7 digits)")
    if args.stores > len(STORE_NAMES) * 9:
        p.error(f"--stores is at most {len(STORE_NAMES) * 9}")
    if not 0 <= args.anonymous_share < 1:
        p.error("--anonymous-share must be in [0, 1)")
    member_target = round(args.purchases * (1 - args.anonymous_share))
    if member_target <= args.members:
        p.error("--purchases leaves fewer member purchases than members (each buys at least once)")
    return args


# --------------------------------------------------------------------------------------------
# Database plumbing
# --------------------------------------------------------------------------------------------


def prepare_database(url: str, *, recreate: bool, force: bool) -> None:
    """--recreate: drop and create; otherwise create if missing. Then migrate (a no-op if current)."""
    database_create(url, drop=recreate, force=force)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="kopilka.settings",
        PYTHONDONTWRITEBYTECODE="1",
    )
    # Production settings want a SECRET_KEY; without one they would write var/secret_key.
    env.setdefault("SECRET_KEY", "bench-analytics-data-not-secret")
    result = subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "--noinput", "-v0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py migrate failed:\n{result.stdout}\n{result.stderr}")


@dataclass
class SchemaObject:
    table: str
    name: str
    create: str  # SQL that recreates it
    drop: str
    foreign_key: bool


def load_schema_objects(conn: psycopg.Connection[Any]) -> list[SchemaObject]:
    """Indexes, primary/unique keys of the big tables, and every foreign key to or from them."""
    tables = list(BIG_TABLES)
    objects: list[SchemaObject] = []
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE (c.contype = 'f' AND (c.conrelid::regclass::text = ANY(%(t)s)
                                    OR c.confrelid::regclass::text = ANY(%(t)s)))
           OR (c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%(t)s))
        ORDER BY c.contype = 'f', c.conrelid::regclass::text, c.conname
        """,
        {"t": tables},
    ).fetchall()
    for table, name, definition, contype in rows:
        ident = sql.Identifier(name).as_string(conn)
        objects.append(
            SchemaObject(
                table=table,
                name=name,
                create=f"ALTER TABLE {table} ADD CONSTRAINT {ident} {definition}",
                drop=f"ALTER TABLE {table} DROP CONSTRAINT {ident}",
                foreign_key=contype == "f",
            )
        )
    rows = conn.execute(
        """
        SELECT i.indrelid::regclass::text, ci.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
        WHERE i.indrelid::regclass::text = ANY(%(t)s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1, 2
        """,
        {"t": tables},
    ).fetchall()
    for table, name, definition in rows:
        ident = sql.Identifier(name).as_string(conn)
        objects.append(
            SchemaObject(table, name, definition, f"DROP INDEX {ident}", foreign_key=False)
        )
    return objects


# --------------------------------------------------------------------------------------------
# Binary COPY from NumPy columns
# --------------------------------------------------------------------------------------------

PG_EPOCH_US = 946_684_800 * US  # 2000-01-01 UTC, PostgreSQL's timestamp zero
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)

ColumnKind = Literal["int8", "int4", "timestamptz", "text"]


@dataclass(frozen=True)
class Column:
    """One column of a binary COPY: int8/int4 values, UNIX microseconds, or bytes (S dtype)."""

    kind: ColumnKind
    values: npt.NDArray[Any]
    null: Bool | None = None
    lengths: I64 | None = None  # text: bytes used of each value (default: up to the first NUL)


def encode_rows(columns: Sequence[Column]) -> bytes:
    """The tuples of a binary COPY (no header), built as one structured array.

    Every row is laid out at full width; NULL values and unused text bytes are then cut out with
    one boolean mask over the bytes, so variable-width rows cost one pass.
    """
    n = len(columns[0].values)
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, col in enumerate(columns):
        fields.append((f"len{i}", ">i4"))
        if col.kind == "text":
            fields.append((f"val{i}", f"S{max(col.values.dtype.itemsize, 1)}"))
        else:
            fields.append((f"val{i}", ">i8" if col.kind != "int4" else ">i4"))
    dtype = np.dtype(fields)
    rec = np.empty(n, dtype)
    rec["count"] = len(columns)
    keep: Bool | None = None
    for i, col in enumerate(columns):
        value_type, offset = dtype.fields[f"val{i}"][:2]  # type: ignore[index]
        width = value_type.itemsize
        lengths: I64 | None = None
        if col.kind == "text":
            lengths = (
                col.lengths if col.lengths is not None else np.char.str_len(col.values)
            ).astype(np.int64)
            rec[f"len{i}"] = lengths
            rec[f"val{i}"] = col.values
        else:
            rec[f"len{i}"] = width
            rec[f"val{i}"] = col.values - PG_EPOCH_US if col.kind == "timestamptz" else col.values
        if lengths is not None or col.null is not None:
            if keep is None:
                keep = np.ones((n, dtype.itemsize), dtype=np.bool_)
            if lengths is not None:
                keep[:, offset : offset + width] = np.arange(width) < lengths[:, None]
            if col.null is not None:
                rec[f"len{i}"][col.null] = -1
                keep[col.null, offset : offset + width] = False
    raw = rec.view(np.uint8).reshape(n, dtype.itemsize)
    return raw.tobytes() if keep is None else raw[keep].tobytes()


@contextmanager
def binary_copy(cur: psycopg.Cursor[Any], table: str, names: Sequence[str]) -> Iterator[Any]:
    """A COPY whose data is pushed by a writer thread while this thread builds the next batch."""
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary, FREEZE)"
    with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(COPY_HEADER)
        yield copy
        copy.write(COPY_TRAILER)


def int_text(values: I64) -> tuple[npt.NDArray[np.bytes_], I64]:
    """Non-negative integers as ASCII decimal (S dtype) and their lengths, without Python loops."""
    values = np.asarray(values, dtype=np.int64)
    width = max(1, len(str(int(values.max())))) if len(values) else 1
    digits = np.ones(len(values), dtype=np.int64)
    for power in range(1, width):
        digits += values >= 10**power
    place = digits[:, None] - 1 - np.arange(width)  # power of ten at each position
    chars = (values[:, None] // 10 ** np.maximum(place, 0)) % 10 + 48
    chars[place < 0] = 0
    return chars.astype(np.uint8).view(f"S{width}").ravel(), digits


def phone_text(numbers: I64) -> npt.NDArray[np.bytes_]:
    """+7916 and seven zero-padded digits."""
    chars = np.empty((len(numbers), 12), dtype=np.uint8)
    chars[:, :5] = np.frombuffer(b"+7916", dtype=np.uint8)
    for i in range(7):
        chars[:, 5 + i] = (numbers // 10 ** (6 - i)) % 10 + 48
    return chars.view("S12").ravel()


def text_table(values: Sequence[str]) -> tuple[npt.NDArray[np.bytes_], I64]:
    encoded = [v.encode() for v in values]
    width = max(1, *(len(e) for e in encoded))
    return np.array(encoded, dtype=f"S{width}"), np.array([len(e) for e in encoded], np.int64)


def constant_text(value: str, n: int) -> Column:
    raw = value.encode()
    return Column(
        "text", np.full(n, raw, dtype=f"S{max(len(raw), 1)}"), lengths=np.full(n, len(raw))
    )


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------


@dataclass
class Calendar:
    start: date
    end: date
    days: int
    day_start: I64  # UNIX microseconds of each local midnight, days + 1 entries
    weight: F64  # relative busyness of each day, mean 1
    cum: F64  # cumulative weight, days + 1 entries: "operational" time in average days
    hour_cdf: F64
    boundaries: I64  # day index of every 1st of the month (the monthly expiry run)

    @classmethod
    def build(cls, end: date) -> Calendar:
        try:
            start = end.replace(year=end.year - YEARS)
        except ValueError:  # 29 February
            start = end.replace(year=end.year - YEARS, day=28)
        tz = ZoneInfo(TIME_ZONE)
        days = (end - start).days
        dates = [start + timedelta(days=d) for d in range(days + 1)]
        day_start = np.array(
            [int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * US for d in dates],
            dtype=np.int64,
        )
        weight = np.array(
            [WEEKDAY_WEIGHTS[d.weekday()] * MONTH_WEIGHTS[d.month - 1] for d in dates[:-1]]
        )
        weight /= weight.mean()
        hours = np.array(HOUR_WEIGHTS, dtype=np.float64)
        return cls(
            start=start,
            end=end,
            days=days,
            day_start=day_start,
            weight=weight,
            cum=np.concatenate([[0.0], np.cumsum(weight)]),
            hour_cdf=np.cumsum(hours) / hours.sum(),
            boundaries=np.array([i for i, d in enumerate(dates[:-1]) if d.day == 1], np.int64),
        )

    def intraday(self, rng: np.random.Generator, n: int) -> I64:
        """Microseconds after local midnight inside opening hours, by the hourly profile."""
        hour = OPEN_HOUR + np.searchsorted(self.hour_cdf, rng.random(n), side="right")
        hour = np.minimum(hour, CLOSE_HOUR - 1)
        return hour * HOUR_US + rng.integers(0, HOUR_US, n)

    def days_by_weight(self, rng: np.random.Generator, n: int, growth: float = 0.0) -> I64:
        """Day indexes drawn by busyness, optionally growing linearly over the period; sorted."""
        x = (np.arange(self.days) + 0.5) / self.days
        density = self.weight * (1 + growth * x)
        cdf = np.cumsum(density) / density.sum()
        u = np.sort(rng.random(n))
        return np.minimum(np.searchsorted(cdf, u, side="right"), self.days - 1).astype(np.int64)

    def day_of_operational(self, s: F64) -> I64:
        day = np.searchsorted(self.cum, s, side="right") - 1
        return np.clip(day, 0, self.days - 1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Members and their purchases
# --------------------------------------------------------------------------------------------


@dataclass
class Population:
    """Member-level draws for everyone, in id order (id = index + 1)."""

    enrol_day: I64
    created_at: I64
    first_purchase_at: I64
    rate_shape: F64  # lambda * alpha ~ Gamma(r, 1)
    dropout: F64
    spend_rate: F64  # nu of Gamma-Gamma, per kopeck
    horizon: F64  # operational days from the day after enrolment to --end
    store: I64  # 0-based home (= enrolling) store
    enrolled_by: I64  # auth_user id, 0 = nobody
    blocked: Bool
    redeem_prob: F64  # 0 for members who never redeem
    name: I64  # index into the name table
    phone: I64  # the seven digits after +7916


def draw_population(
    rng: np.random.Generator, cal: Calendar, n: int, store_p: F64, cashiers: int, gamma: float
) -> Population:
    day = cal.days_by_weight(rng, n, growth=ENROL_GROWTH)
    # Enrolments by the hourly profile, squeezed into 8:00-21:50 so the receipt fits before 22:00.
    open_us, span = OPEN_HOUR * HOUR_US, (CLOSE_HOUR - OPEN_HOUR) * HOUR_US
    squeeze = (span - 600 * US) / span
    created = open_us + ((cal.intraday(rng, n) - open_us) * squeeze).astype(np.int64)
    order = np.lexsort((created, day))
    day, created = day[order], created[order]
    created_at = cal.day_start[day] + created
    first = created_at + rng.integers(30 * US, 420 * US, n)  # the enrolment receipt follows
    store = rng.choice(len(store_p), size=n, p=store_p)
    enrolled_by = store * cashiers + rng.integers(0, cashiers, n) + 1
    enrolled_by[rng.random(n) < NO_CASHIER_SHARE] = 0
    redeemer = rng.random(n) < REDEEMER_SHARE
    # An affine map mod 10^7 with a multiplier prime to 10 is a bijection: unique phones.
    mult = int(rng.integers(1_000_000, 9_999_999)) | 1
    while mult % 5 == 0:
        mult += 2
    phone = (np.arange(1, n + 1, dtype=np.int64) * mult + int(rng.integers(0, 10**7))) % 10**7
    return Population(
        enrol_day=day,
        created_at=created_at,
        first_purchase_at=first,
        rate_shape=rng.gamma(BGNBD_R, 1.0, n),
        dropout=np.clip(rng.beta(BGNBD_A, BGNBD_B, n), 1e-9, 1.0),
        spend_rate=rng.gamma(GG_Q, 1.0 / gamma, n),
        horizon=cal.cum[-1] - cal.cum[day + 1],
        store=store,
        enrolled_by=enrolled_by,
        blocked=rng.random(n) < BLOCKED_SHARE,
        redeem_prob=np.where(redeemer, rng.beta(2.0, 3.0, n), 0.0),
        name=rng.integers(0, 2 * len(MALE_FIRST) * len(SURNAMES), n),
        phone=phone,
    )


def calibrate_alpha(pop: Population, member_purchases: int) -> float:
    """alpha so the expected purchases of these members equal member_purchases.

    With N ~ Poisson(mu) purchases in the horizon and death after J ~ Geometric(p) repeats,
    E[min(J, N)] = (1 - exp(-mu p)) / p; the sum over members falls as alpha grows.
    """
    target = member_purchases / len(pop.dropout)

    def expected(alpha: float) -> float:
        mu = pop.rate_shape * pop.horizon / alpha
        return float(np.mean(1 + -np.expm1(-mu * pop.dropout) / pop.dropout))

    lo, hi = 1e-4, 1e7
    if expected(lo) < target:
        raise SystemExit(f"cannot reach {target:.2f} purchases per member with these parameters")
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if expected(mid) > target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


@dataclass
class ChunkPurchases:
    """A chunk's member purchases, member by member, each member's in time order."""

    member: npt.NDArray[np.int32]
    at: I64
    store: npt.NDArray[np.int16]
    amount: I64
    redeem: I64
    earn: I64


@dataclass
class ChunkResult:
    purchases: ChunkPurchases
    # returns: index into the chunk's purchases
    ret_index: I64
    ret_at: I64
    ret_amount: I64
    ret_earn: I64
    ret_redeem: I64
    # expire transfers
    exp_member: npt.NDArray[np.int32]
    exp_at: I64
    exp_points: I64
    # members
    balance: I64
    purchases_per_member: I64


def segment_cumsum(values: F64, starts: I64, counts: I64) -> F64:
    total = np.cumsum(values)
    before = np.repeat(total[starts] - values[starts], counts)
    return total - before


def return_plan(rng: np.random.Generator, cal: Calendar, at: I64, day: I64) -> tuple[I64, I64, I64]:
    """Which receipts come back (index), when, and what share in basis points (10000 = full)."""
    picked = np.flatnonzero(rng.random(len(at)) < RETURN_SHARE)
    n = len(picked)
    share = np.where(rng.random(n) < FULL_RETURN_SHARE, 10_000, rng.integers(1_000, 9_001, n))
    later = np.where(rng.random(n) < 0.3, 0, np.minimum(rng.geometric(0.3, n), 14))
    t = at[picked]
    close = cal.day_start[day[picked]] + CLOSE_HOUR * HOUR_US
    room = close - t - 600 * US
    later[(later == 0) & (room <= 0)] = 1
    same_day = t + 600 * US + (rng.random(n) * np.maximum(room, 0)).astype(np.int64)
    ret_day = np.minimum(day[picked] + later, cal.days)
    other_day = cal.day_start[ret_day] + cal.intraday(rng, n)
    ret_at = np.where(later == 0, same_day, other_day)
    ok = ret_day < cal.days
    return picked[ok], ret_at[ok], share[ok]


def simulate_chunk(
    rng: np.random.Generator,
    cal: Calendar,
    pop: Population,
    lo: int,
    hi: int,
    alpha: float,
    store_p: F64,
) -> ChunkResult:
    k = hi - lo
    sel = slice(lo, hi)
    # BG/NBD: repeats = min(deaths after J ~ Geom(p) repeats, N ~ Poisson(lambda T) arrivals).
    horizon = pop.horizon[sel]
    arrivals = rng.poisson(pop.rate_shape[sel] * horizon / alpha)
    repeats = np.minimum(rng.geometric(pop.dropout[sel]), arrivals)
    counts = (1 + repeats).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    mm = np.repeat(np.arange(k, dtype=np.int64), counts)
    rank = np.arange(total, dtype=np.int64) - starts[mm]

    # Repeat times: the first `repeats` order statistics of `arrivals` uniforms on the horizon,
    # drawn one after another (Renyi): log(1 - U(i)) = sum_{j<=i} log(V_j) / (N - j + 1).
    rep = rank > 0
    rep_m = mm[rep]
    steps = np.log(rng.random(int(rep.sum()))) / (arrivals[rep_m] - rank[rep] + 1)
    rep_counts = repeats.astype(np.int64)
    rep_starts = np.concatenate([[0], np.cumsum(rep_counts)[:-1]]).astype(np.int64)
    has = rep_counts > 0
    cum = segment_cumsum(steps, rep_starts[has], rep_counts[has])
    enrol_day = pop.enrol_day[sel]
    s = cal.cum[enrol_day[rep_m] + 1] - np.expm1(cum) * horizon[rep_m]
    day = np.empty(total, dtype=np.int64)
    day[~rep] = enrol_day
    day[rep] = np.maximum(cal.day_of_operational(s), enrol_day[rep_m] + 1)
    at = np.empty(total, dtype=np.int64)
    at[~rep] = pop.first_purchase_at[sel]
    at[rep] = cal.day_start[day[rep]] + cal.intraday(rng, len(rep_m))
    order = np.lexsort((at, mm))  # same-day repeats in time order
    at, day = at[order], day[order]  # mm and rank are unchanged by this sort

    home = pop.store[sel][mm]
    away = rng.random(total) >= HOME_STORE_SHARE
    away[starts] = False  # the enrolment receipt is at the enrolling store
    store = np.where(away, rng.choice(len(store_p), size=total, p=store_p), home)
    amount = np.maximum(
        np.rint(rng.gamma(GG_P, 1.0, total) / pop.spend_rate[sel][mm]), MIN_AMOUNT
    ).astype(np.int64)

    ret_index, ret_at, ret_share = return_plan(rng, cal, at, day)
    share = np.zeros(total, dtype=np.int64)
    share[ret_index] = ret_share

    # Expiry runs on the 1st of each month at 00:05 and takes earns of days before (run - 365).
    t0 = cal.day_start[0]
    run_at = cal.day_start[cal.boundaries] + EXPIRY_RUN
    cutoff = cal.day_start[np.maximum(cal.boundaries - EXPIRY_DAYS, 0)]
    sec = (at - t0) // US
    keys = (mm << 32) | sec
    cut_s = (cutoff - t0) // US
    run_s = (run_at - t0) // US
    last_run = np.searchsorted(run_at, at, side="right") - 1
    lag = np.searchsorted(keys, (mm << 32) | cut_s[np.maximum(last_run, 0)], side="left") - 1
    lag[(last_run < 0) | (lag < starts[mm])] = -1

    # Points in purchase order: rank by rank, every member's k-th receipt at once.
    by_rank = np.argsort(rank, kind="stable")
    rank_counts = np.bincount(rank)
    bounds = np.concatenate([[0], np.cumsum(rank_counts)])
    r_mm = mm[by_rank]
    r_amount = amount[by_rank]
    r_lag1 = lag[by_rank] + 1
    r_share = share[by_rank]
    r_wants = rng.random(total) < pop.redeem_prob[sel][r_mm]
    r_index1 = by_rank + 1
    earned = np.zeros(k, dtype=np.int64)  # E: earned so far
    spent = np.zeros(k, dtype=np.int64)  # S: redeemed + taken back by returns
    expired = np.zeros(k, dtype=np.int64)  # X: expired by the last run
    refunded = np.zeros(k, dtype=np.int64)  # F: refunded by returns (kept out of FIFO)
    cum_earned = np.zeros(total + 1, dtype=np.int64)  # E after each receipt, member-major, +1
    r_redeem = np.zeros(total, dtype=np.int64)
    r_earn = np.zeros(total, dtype=np.int64)
    for r in range(len(rank_counts)):
        a, b = bounds[r], bounds[r + 1]
        m = r_mm[a:b]
        e, sp = earned[m], spent[m]
        # FIFO: of what was earned before the cutoff, whatever outflow has not covered expired.
        x = np.maximum(expired[m], cum_earned[r_lag1[a:b]] - sp)
        available = e - sp - x
        amt = r_amount[a:b]
        red = np.where(
            r_wants[a:b] & (available >= REDEEM_MIN_POINTS),
            np.minimum(available, amt * REDEEM_SHARE_PER_MILLE // 1000),
            0,
        )
        earn = (amt - red * POINT_VALUE) // EARN_DIVISOR
        sh = r_share[a:b]
        e = e + earn
        earned[m] = e
        spent[m] = sp + red + earn * sh // 10_000
        expired[m] = x
        refunded[m] += red * sh // 10_000
        cum_earned[r_index1[a:b]] = e
        r_redeem[a:b] = red
        r_earn[a:b] = earn
    redeem = np.empty(total, dtype=np.int64)
    earn_all = np.empty(total, dtype=np.int64)
    redeem[by_rank] = r_redeem
    earn_all[by_rank] = r_earn

    # Expire transfers: X(run) = max over runs so far of (E before cutoff - S before run).
    outflow = redeem + earn_all * share // 10_000
    ce = np.concatenate([[0], np.cumsum(earn_all)])
    cs = np.concatenate([[0], np.cumsum(outflow)])
    members = np.arange(k, dtype=np.int64)[:, None] << 32
    e_run = ce[np.searchsorted(keys, members | cut_s, side="left")] - ce[starts][:, None]
    s_run = cs[np.searchsorted(keys, members | run_s, side="left")] - cs[starts][:, None]
    x_run = np.maximum.accumulate(np.maximum(e_run - s_run, 0), axis=1)
    step = np.diff(x_run, axis=1, prepend=0)
    exp_m, exp_j = np.nonzero(step > 0)
    last_x = x_run[:, -1] if x_run.shape[1] else np.zeros(k, dtype=np.int64)
    balance = earned - spent - last_x + refunded
    if (balance < 0).any():
        raise AssertionError("negative balance: the FIFO model is broken")
    at_last = np.searchsorted(run_at, at[starts + counts - 1], side="right") - 1
    x_at_last = np.where(at_last >= 0, x_run[np.arange(k), np.maximum(at_last, 0)], 0)
    if not np.array_equal(x_at_last, expired):
        raise AssertionError("expiry at purchase time and at the monthly runs disagree")

    ids = (lo + 1 + mm).astype(np.int32)
    return ChunkResult(
        purchases=ChunkPurchases(
            member=ids,
            at=at,
            store=store.astype(np.int16),
            amount=amount,
            redeem=redeem,
            earn=earn_all,
        ),
        ret_index=ret_index,
        ret_at=ret_at,
        ret_amount=amount[ret_index] * ret_share // 10_000,
        ret_earn=earn_all[ret_index] * ret_share // 10_000,
        ret_redeem=redeem[ret_index] * ret_share // 10_000,
        exp_member=(lo + 1 + exp_m).astype(np.int32),
        exp_at=run_at[exp_j],
        exp_points=-step[exp_m, exp_j],
        balance=balance,
        purchases_per_member=counts,
    )


def name_table() -> tuple[npt.NDArray[np.bytes_], I64]:
    names = [f"{first} {last}" for first in MALE_FIRST for last in SURNAMES]
    names += [f"{first} {last}а" for first in FEMALE_FIRST for last in SURNAMES]
    return text_table(names)


def member_columns(
    pop: Population, lo: int, hi: int, balance: I64, names: tuple[npt.NDArray[np.bytes_], I64]
) -> tuple[list[str], list[Column]]:
    sel = slice(lo, hi)
    n = hi - lo
    status, status_len = text_table(["active", "blocked"])
    blocked = pop.blocked[sel].astype(np.int64)
    by = pop.enrolled_by[sel]
    return (
        [
            "id",
            "created_at",
            "points_balance",
            "enrolled_store_id",
            "enrolled_by_id",
            "phone",
            "email",
            "name",
            "status",
            "spend_total",
            "state_version",
            "tier_code",
            "referral_code",
        ],
        [
            Column("int8", np.arange(lo + 1, hi + 1, dtype=np.int64)),
            Column("timestamptz", pop.created_at[sel]),
            Column("int8", balance),
            Column("int8", pop.store[sel] + 1),
            Column("int4", by, null=by == 0),
            Column("text", phone_text(pop.phone[sel]), lengths=np.full(n, 12)),
            constant_text("", n),
            Column("text", names[0][pop.name[sel]], lengths=names[1][pop.name[sel]]),
            Column("text", status[blocked], lengths=status_len[blocked]),
            # the state columns the ledger keeps (this bench's analytics read none of them)
            Column("int8", np.zeros(n, dtype=np.int64)),
            Column("int8", np.zeros(n, dtype=np.int64)),
            constant_text("", n),
            Column(
                "text",
                np.array([f"B{i:011d}".encode() for i in range(lo + 1, hi + 1)], dtype="S12"),
                lengths=np.full(n, 12),
            ),
        ],
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=dict)
    _t: float = field(default_factory=time.perf_counter)

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._t, 2)
        self._t = now


def quantiles(values: I64) -> dict[str, int]:
    qs = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)
    return {f"p{q * 100:g}": int(np.quantile(values, q, method="inverted_cdf")) for q in qs}


def seed_small_tables(cur: psycopg.Cursor[Any], cal: Calendar, stores: int, cashiers: int) -> None:
    store_rows = []
    for i in range(stores):
        base = STORE_NAMES[i % len(STORE_NAMES)]
        suffix = f" {i // len(STORE_NAMES) + 1}" if i >= len(STORE_NAMES) else ""
        store_rows.append((i + 1, f"store-{i + 1:02d}", f"Копилка — {base}{suffix}", TIME_ZONE))
    cur.executemany(
        "INSERT INTO pos_store (id, code, name, time_zone) VALUES (%s, %s, %s, %s)", store_rows
    )
    joined = datetime.fromtimestamp(int(cal.day_start[0]) // US, ZoneInfo(TIME_ZONE))
    user_rows = []
    for s in range(stores):
        for c in range(cashiers):
            uid = s * cashiers + c + 1
            first = (MALE_FIRST + FEMALE_FIRST)[uid % (2 * len(MALE_FIRST))]
            last = SURNAMES[uid % len(SURNAMES)] + ("а" if uid % 32 >= 16 else "")
            user_rows.append(
                (uid, "!", f"store-{s + 1:02d}-cashier-{c + 1}", first, last, "", joined)
            )
    cur.executemany(
        "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name,"
        " email, is_staff, is_active, date_joined)"
        " VALUES (%s, %s, false, %s, %s, %s, %s, false, true, %s)",
        user_rows,
    )


def check_empty(conn: psycopg.Connection[Any]) -> None:
    for table in (*SMALL_TABLES, *BIG_TABLES):
        row = conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
        )
        if row.fetchone() == (True,):
            raise SystemExit(f"{table} is not empty: use --recreate to start from a new database")


def run_checks(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Consistency of what was loaded; every *_violations figure should be 0."""
    queries = {
        "receipt_duplicates": "SELECT count(*) FROM (SELECT 1 FROM pos_purchase"
        " GROUP BY store_id, receipt_number HAVING count(*) > 1) d",
        "purchase_before_enrolment_violations": "SELECT count(*) FROM pos_purchase p"
        " JOIN members_member m ON m.id = p.member_id WHERE p.created_at <= m.created_at",
        "payable_violations": "SELECT count(*) FROM pos_purchase"
        " WHERE payable <> amount - redeem_points * 100 OR redeem_points < 0"
        " OR redeem_points * 1000 > amount * 3"
        " OR earn_points <> CASE WHEN member_id IS NULL THEN 0 ELSE payable / 2000 END"
        " OR (member_id IS NULL AND redeem_points <> 0)",
        "opening_hours_violations": "SELECT count(*) FROM pos_purchase WHERE extract(hour FROM"
        " created_at AT TIME ZONE 'Europe/Moscow') NOT BETWEEN 8 AND 21",
        "return_violations": "SELECT count(*) FROM pos_purchasereturn r"
        " JOIN pos_purchase p ON p.id = r.purchase_id WHERE r.created_at <= p.created_at"
        " OR r.amount > p.amount OR r.earn_reversed > p.earn_points"
        " OR r.redeem_refunded > p.redeem_points OR r.member_id IS DISTINCT FROM p.member_id",
        "balance_violations": """
            WITH pur AS (SELECT member_id, sum(earn_points - redeem_points) AS pts
                         FROM pos_purchase WHERE member_id IS NOT NULL GROUP BY member_id),
                 ret AS (SELECT member_id, sum(redeem_refunded - earn_reversed) AS pts
                         FROM pos_purchasereturn WHERE member_id IS NOT NULL GROUP BY member_id),
                 exp AS (SELECT member_id, sum(points) AS pts FROM ledger_transfer
                         GROUP BY member_id)
            SELECT count(*) FROM members_member m
            LEFT JOIN pur ON pur.member_id = m.id LEFT JOIN ret ON ret.member_id = m.id
            LEFT JOIN exp ON exp.member_id = m.id
            WHERE m.points_balance <> coalesce(pur.pts, 0) + coalesce(ret.pts, 0)
                                      + coalesce(exp.pts, 0)
               OR m.points_balance < 0""",
        "expire_shape_violations": "SELECT count(*) FROM ledger_transfer WHERE kind <> 'expire'"
        " OR points >= 0 OR purchase_id IS NOT NULL OR purchase_return_id IS NOT NULL",
        "members_without_purchase": "SELECT count(*) FROM members_member m WHERE NOT EXISTS"
        " (SELECT 1 FROM pos_purchase p WHERE p.member_id = m.id)",
    }
    out: dict[str, Any] = {}
    for name, query in queries.items():
        t = time.perf_counter()
        row = conn.execute(query).fetchone()
        out[name] = row[0] if row else None
        log(f"check {name}: {out[name]} ({time.perf_counter() - t:.1f} s)")
    row = conn.execute(
        """
        WITH c AS (SELECT count(*) AS n FROM pos_purchase WHERE member_id IS NOT NULL
                   GROUP BY member_id)
        SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999])
                 WITHIN GROUP (ORDER BY n), max(n), avg(n)::float8,
               avg((n = 1)::int)::float8, avg((n <= 3)::int)::float8 FROM c
        """
    ).fetchone()
    assert row is not None
    out["purchases_per_member_sql"] = {
        "p25,p50,p75,p90,p95,p99,p99.9": row[0],
        "max": row[1],
        "mean": round(row[2], 2),
        "share_one_purchase": round(row[3], 3),
        "share_at_most_3": round(row[4], 3),
    }
    row = conn.execute(
        "SELECT avg((extract(isodow FROM created_at AT TIME ZONE 'Europe/Moscow') >= 6)::int)"
        "::float8, avg(amount)::float8 / 100, avg((redeem_points > 0)::int)::float8"
        " FROM pos_purchase"
    ).fetchone()
    assert row is not None
    out["weekend_share"] = round(row[0], 4)  # 2/7 = 0.2857 if flat
    out["mean_receipt_roubles"] = round(row[1], 1)
    out["share_with_redeem"] = round(row[2], 4)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = libpq_url(args.database_url)
    phases = Phases()
    t_start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    cal = Calendar.build(args.end)

    log(f"database {database_name(url)}: {'recreate' if args.recreate else 'reuse'}, migrate")
    prepare_database(args.database_url, recreate=args.recreate, force=args.force)
    phases.done("setup_db")

    anonymous = round(args.purchases * args.anonymous_share)
    member_target = args.purchases - anonymous
    store_p = np.linspace(1.6, 0.6, args.stores) if args.stores > 1 else np.ones(1)
    store_p = rng.permutation(store_p / store_p.sum())
    gamma = args.mean_receipt * 100 * (GG_Q - 1) / GG_P
    pop = draw_population(rng, cal, args.members, store_p, args.cashiers, gamma)
    alpha = calibrate_alpha(pop, member_target)
    log(f"alpha = {alpha:.2f} days for {member_target:,} member purchases; gamma = {gamma:.0f}")
    phases.done("population")

    stats: dict[str, Any] = {}
    with psycopg.connect(url) as conn:  # one transaction for the whole load
        check_empty(conn)
        cur = conn.cursor()
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        objects = load_schema_objects(conn)
        for obj in sorted(objects, key=lambda o: not o.foreign_key):  # foreign keys first
            cur.execute(obj.drop)
        cur.execute("TRUNCATE " + ", ".join(BIG_TABLES))  # empty already; enables COPY FREEZE
        seed_small_tables(cur, cal, args.stores, args.cashiers)
        log(f"dropped {len(objects)} indexes and constraints for the load")
        phases.done("prepare")

        names = name_table()
        chunks: list[ChunkResult] = []
        parts: list[ChunkPurchases] = []
        for lo in range(0, args.members, MEMBER_CHUNK):
            hi = min(lo + MEMBER_CHUNK, args.members)
            chunk = simulate_chunk(
                np.random.default_rng([args.seed, lo]), cal, pop, lo, hi, alpha, store_p
            )
            cols, values = member_columns(pop, lo, hi, chunk.balance, names)
            payload = encode_rows(values)
            with binary_copy(cur, "members_member", cols) as copy:
                copy.write(memoryview(payload))
            parts.append(chunk.purchases)
            chunks.append(chunk)
            log(f"members {hi:,}/{args.members:,}: {len(chunk.purchases.at):,} purchases")
        phases.done("simulate_members")

        # All purchases in time order: ids and per-store receipt numbers follow time.
        offsets = np.cumsum([0] + [len(c.at) for c in parts])
        member_n = int(offsets[-1])
        a_rng = np.random.default_rng([args.seed, 1 << 40])
        a_day = cal.days_by_weight(a_rng, anonymous)
        a_at = cal.day_start[a_day] + cal.intraday(a_rng, anonymous)
        a_amount = np.maximum(
            np.rint(a_rng.gamma(GG_P, 1.0, anonymous) / a_rng.gamma(GG_Q, 1.0 / gamma, anonymous)),
            MIN_AMOUNT,
        ).astype(np.int64)
        at = np.concatenate([c.at for c in parts] + [a_at])
        order = np.argsort(at, kind="stable")
        at = at[order]
        position = np.empty_like(order)  # index in the concatenation -> row number in time
        position[order] = np.arange(len(order))
        store = np.concatenate(
            [c.store for c in parts] + [a_rng.choice(args.stores, anonymous, p=store_p)]
        ).astype(np.int16)[order]
        by_store = np.argsort(store, kind="stable")
        store_first = np.concatenate([[0], np.cumsum(np.bincount(store, minlength=args.stores))])
        receipt = np.empty(len(store), dtype=np.int64)
        receipt[by_store] = np.arange(len(store)) - store_first[store[by_store]] + 1
        del by_store
        member = np.concatenate([c.member for c in parts] + [np.zeros(anonymous, dtype=np.int32)])[
            order
        ]
        amount = np.concatenate([c.amount for c in parts] + [a_amount])[order]
        redeem = np.concatenate([c.redeem for c in parts] + [np.zeros(anonymous, np.int64)])[order]
        earn = np.concatenate([c.earn for c in parts] + [np.zeros(anonymous, np.int64)])[order]
        for c in chunks:
            del c.purchases  # the concatenations above hold them now
        del parts
        phases.done("order_purchases")

        total = len(at)
        cols = ["id", "store_id", "created_at", "amount", "redeem_points", "payable"]
        cols += ["earn_points", "member_id", "receipt_number"]
        # Columns this bench does not generate get their empty value for the load (Django keeps
        # no database defaults): no discount, no stored reasons.
        cur.execute(
            "ALTER TABLE pos_purchase ALTER COLUMN discount SET DEFAULT 0, "
            "ALTER COLUMN reasons SET DEFAULT '[]'::jsonb"
        )
        with binary_copy(cur, "pos_purchase", cols) as copy:
            for a in range(0, total, PURCHASE_CHUNK):
                b = min(a + PURCHASE_CHUNK, total)
                text, lengths = int_text(receipt[a:b])
                payload = encode_rows(
                    [
                        Column("int8", np.arange(a + 1, b + 1, dtype=np.int64)),
                        Column("int8", store[a:b].astype(np.int64) + 1),
                        Column("timestamptz", at[a:b]),
                        Column("int8", amount[a:b]),
                        Column("int8", redeem[a:b]),
                        Column("int8", amount[a:b] - redeem[a:b] * POINT_VALUE),
                        Column("int8", earn[a:b]),
                        Column("int8", member[a:b].astype(np.int64), null=member[a:b] == 0),
                        Column("text", text, lengths=lengths),
                    ]
                )
                copy.write(memoryview(payload))
                if b % 2_000_000 < PURCHASE_CHUNK or b == total:
                    log(f"purchases {b:,}/{total:,}")
        cur.execute(
            "ALTER TABLE pos_purchase ALTER COLUMN discount DROP DEFAULT, "
            "ALTER COLUMN reasons DROP DEFAULT"
        )
        stats["purchases"] = {
            "member": member_n,
            "anonymous": anonymous,
            "total": total,
            "points_earned": int(earn.sum()),
            "points_redeemed": int(redeem.sum()),
            "share_with_redeem": round(float((redeem > 0).mean()), 4),
            "mean_receipt_roubles": round(float(amount.mean()) / 100, 1),
        }
        per_member = np.concatenate([c.purchases_per_member for c in chunks])
        stats["purchases_per_member"] = {
            **quantiles(per_member),
            "mean": round(float(per_member.mean()), 2),
            "share_one": round(float((per_member == 1).mean()), 3),
            "share_at_most_3": round(float((per_member <= 3).mean()), 3),
        }
        del receipt, store, amount, redeem, earn, at
        phases.done("copy_purchases")

        # Returns: member ones from the chunks, anonymous ones now; ids in time order.
        a_ret, a_ret_at, a_share = return_plan(a_rng, cal, a_at, a_day)
        a_ret_amount = a_amount[a_ret] * a_share // 10_000
        idx = np.concatenate(
            [c.ret_index + offsets[i] for i, c in enumerate(chunks)] + [a_ret + member_n]
        )
        r_at = np.concatenate([c.ret_at for c in chunks] + [a_ret_at])
        r_amount = np.concatenate([c.ret_amount for c in chunks] + [a_ret_amount])
        r_earn = np.concatenate([c.ret_earn for c in chunks] + [np.zeros(len(a_ret), np.int64)])
        r_red = np.concatenate([c.ret_redeem for c in chunks] + [np.zeros(len(a_ret), np.int64)])
        r_order = np.argsort(r_at, kind="stable")
        r_purchase_row = position[idx][r_order]
        r_member = member[r_purchase_row].astype(np.int64)
        n_ret = len(r_order)
        with binary_copy(
            cur,
            "pos_purchasereturn",
            [
                "id",
                "purchase_id",
                "member_id",
                "created_at",
                "amount",
                "earn_reversed",
                "redeem_refunded",
                "earn_not_recovered",
            ],
        ) as copy:
            if n_ret:
                copy.write(
                    memoryview(
                        encode_rows(
                            [
                                Column("int8", np.arange(1, n_ret + 1, dtype=np.int64)),
                                Column("int8", r_purchase_row + 1),
                                Column("int8", r_member, null=r_member == 0),
                                Column("timestamptz", r_at[r_order]),
                                Column("int8", r_amount[r_order]),
                                Column("int8", r_earn[r_order]),
                                Column("int8", r_red[r_order]),
                                Column("int8", np.zeros(n_ret, dtype=np.int64)),
                            ]
                        )
                    )
                )
        del member, position
        stats["returns"] = {
            "total": n_ret,
            "member": int((r_member != 0).sum()),
            "points_taken_back": int(r_earn.sum()),
            "points_refunded": int(r_red.sum()),
        }

        e_member = np.concatenate([c.exp_member for c in chunks]).astype(np.int64)
        e_at = np.concatenate([c.exp_at for c in chunks])
        e_points = np.concatenate([c.exp_points for c in chunks])
        e_order = np.lexsort((e_member, e_at))
        n_exp = len(e_order)
        with binary_copy(
            cur,
            "ledger_transfer",
            ["id", "member_id", "created_at", "points", "kind", "reason", "actor_label"],
        ) as copy:
            for a in range(0, n_exp, PURCHASE_CHUNK):
                b = min(a + PURCHASE_CHUNK, n_exp)
                sel = e_order[a:b]
                copy.write(
                    memoryview(
                        encode_rows(
                            [
                                Column("int8", np.arange(a + 1, b + 1, dtype=np.int64)),
                                Column("int8", e_member[sel]),
                                Column("timestamptz", e_at[sel]),
                                Column("int8", e_points[sel]),
                                constant_text("expire", b - a),
                                constant_text("", b - a),
                                constant_text(EXPIRE_ACTOR, b - a),
                            ]
                        )
                    )
                )
        stats["expire_transfers"] = n_exp
        stats["points_expired"] = int(-e_points.sum())
        del chunks
        phases.done("copy_returns_transfers")

        log(f"recreating {len(objects)} indexes and constraints")
        for obj in sorted(objects, key=lambda o: o.foreign_key):  # keys before foreign keys
            t = time.perf_counter()
            cur.execute(obj.create)
            log(f"  {obj.name}: {time.perf_counter() - t:.1f} s")
        phases.done("indexes_constraints")
        for table in (*SMALL_TABLES, *BIG_TABLES):
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'),"
                    " coalesce(max(id), 1), max(id) IS NOT NULL) FROM {i}"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        conn.commit()
        phases.done("commit")
        restored = {(o.name, o.create) for o in load_schema_objects(conn)}
        missing = {(o.name, o.create) for o in objects} - restored
        if missing:
            raise SystemExit(f"schema objects not restored: {sorted(missing)}")
        conn.commit()

    with psycopg.connect(url, autocommit=True) as conn:
        for table in (*SMALL_TABLES, *BIG_TABLES):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        phases.done("analyze")
        counts: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for table in (*SMALL_TABLES, *BIG_TABLES):
            row = conn.execute(
                sql.SQL("SELECT count(*), pg_total_relation_size({t}) FROM {i}").format(
                    t=sql.Literal(table), i=sql.Identifier(table)
                )
            ).fetchone()
            assert row is not None
            counts[table], sizes[table] = int(row[0]), int(row[1])
        phases.done("count")
        checks = run_checks(conn) if args.check else None
        if args.check:
            phases.done("check")

    result: dict[str, Any] = {
        "database": database_name(url),
        "parameters": {
            "members": args.members,
            "purchases_target": args.purchases,
            "period": [cal.start.isoformat(), cal.end.isoformat()],
            "seed": args.seed,
            "stores": args.stores,
            "alpha_days": round(alpha, 3),
            "r": BGNBD_R,
            "a": BGNBD_A,
            "b": BGNBD_B,
            "gg_p": GG_P,
            "gg_q": GG_Q,
            "gg_gamma_kopecks": round(gamma, 1),
        },
        "counts": counts,
        "indexes_and_constraints_restored": len(objects),
        "table_mb": {t: round(s / 2**20, 1) for t, s in sizes.items()},
        "generated": stats,
        "seconds": phases.seconds,
        "total_seconds": round(time.perf_counter() - t_start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if checks is not None:
        result["checks"] = checks
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
