#!/usr/bin/env python
"""POS purchase commit throughput against two floors: PostgreSQL (pgbench) and Django (/healthz).

    .venv/bin/python bench/pos_commit.py --clients 16 --seconds 20

One run, phases strictly one after another:

1. setup: drop and create the bench database, migrate, create a terminal through
   `manage.py create_terminal`, enrol --members members in bulk (card, consents, an opening
   balance as a balanced ADJUST transfer with its point lot), VACUUM ANALYZE;
2. commit: the server (production settings, persistent DB connections; granian with --workers 2
   and --threads 2 by default, or --server gunicorn with --worker-class sync or gthread) and
   --clients keep-alive HTTP clients POSTing /api/v1/purchases for --seconds (after --warmup
   unmeasured seconds); gunicorn's sync workers close the connection after each response;
3. healthz: the same clients against /healthz, the framework floor (its `SELECT 1` and Django's
   connection health check);
4. pgbench: `pgbench -c clients -j 2 -T seconds -n -f script` with the commit's core transaction
   (member row FOR UPDATE, purchase insert, posting insert, balance update) on scratch tables
   `bench_member`/`bench_purchase`/`bench_posting` built LIKE the product tables (same columns
   and indexes), so the product tables and the ledger stay untouched;
5. profile (skip with --no-profile): --profile-commits commits in this process through the same
   WSGI application gunicorn runs, one at a time: the wire-level statement list of one plain and
   one redeeming commit (libpq trace: BEGIN, COMMIT, health checks and prepared statements shown),
   where the wall time goes (SQL round trips, COMMIT, Python) and a cProfile grouped by package;
6. pgbench_full (skip with --no-full-pgbench): the same pgbench run with the commit's own
   statements on the product tables, prepared (-M prepared) as the server prepares them
   (balanced, so the ledger stays whole): the share of a commit that is PostgreSQL's, as the
   commit is written today;
7. `manage.py ledger_check` on the bench database.

The load client is stdlib Python (raw sockets, threads). Its CPU time is measured and reported
per phase, next to the CPU used by gunicorn and PostgreSQL, so a saturated client is visible.
One JSON object goes to stdout; progress goes to stderr. The server is stopped on every exit.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchdb import database_create, database_name, libpq_url

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
MANAGE = REPO / "manage.py"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_bench"
STORE = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[pos_commit] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--members", type=int, default=1000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each phase")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="sync (default) closes the connection after each response; gthread keeps it alive",
    )
    p.add_argument("--threads", type=int, default=2, help="threads per gthread or granian worker")
    p.add_argument(
        "--server",
        choices=["gunicorn", "granian"],
        default="granian",
        help="granian (Rust HTTP, keep-alive, WSGI; the default) or gunicorn (--worker-class)",
    )
    p.add_argument("--redeem-share", type=float, default=0.2, help='share of receipts with "max"')
    p.add_argument("--profile-commits", type=int, default=300)
    p.add_argument("--no-profile", action="store_true")
    p.add_argument(
        "--no-full-pgbench",
        action="store_true",
        help="skip pgbench with the commit's own statements on the product tables",
    )
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument(
        "--force",
        action="store_true",
        help="allow dropping a database whose name does not contain 'bench'",
    )
    args = p.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.members < 1 or args.workers < 1:
        p.error("--clients, --seconds, --members and --workers must be positive")
    return args


# --------------------------------------------------------------------------------------------
# Database and Django
# --------------------------------------------------------------------------------------------


def server_env(url: str) -> dict[str, str]:
    """The environment of every Django process of the run: production settings, persistent DB."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        DB_CONN_MAX_AGE="600",
        DJANGO_SETTINGS_MODULE="kopilka.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH", "")])),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def manage(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=server_env(url),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def django_setup(url: str) -> None:
    os.environ.update({k: v for k, v in server_env(url).items() if k != "PYTHONPATH"})
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    import django

    django.setup()


def enrol_members(count: int, rng: random.Random) -> list[int]:
    """Members with a card, consents and an opening balance, written in bulk.

    Same rows the services write (member.enroll + points.adjust): the opening balance is an ADJUST
    transfer with two postings summing to zero, a point lot, and the cached balance;
    ledger_check at the end of the run proves it.
    """
    from django.conf import settings
    from django.db import transaction

    from kopilka.core import clock
    from kopilka.core.ids import new_card_number
    from kopilka.core.models import AuditEntry
    from kopilka.ledger.models import PointLot, Posting, Transfer
    from kopilka.ledger.services import lot_dates
    from kopilka.members.models import Card, Consent, Member
    from kopilka.pos.models import Store
    from kopilka.program.selectors import current_rules

    store_id = Store.objects.get(code=STORE).pk
    now = clock.now()
    _available_at, expires_at = lot_dates(at=now, rules=current_rules())
    version = settings.KOPILKA_CONSENT_TEXT_VERSION
    label = "system:bench"
    ids: list[int] = []
    used_cards: set[str] = set()
    batch = 2000
    for start in range(0, count, batch):
        with transaction.atomic():
            size = min(batch, count - start)
            balances = [rng.randint(300, 3000) for _ in range(size)]
            members = Member.objects.bulk_create(
                Member(
                    phone=f"+7916{start + i:07d}",
                    name=f"Bench member {start + i}",
                    enrolled_store_id=store_id,
                    created_at=now,
                    points_balance=balances[i],
                )
                for i in range(size)
            )
            cards = []
            for member in members:
                number = new_card_number()
                while number in used_cards:
                    number = new_card_number()
                used_cards.add(number)
                cards.append(Card(member=member, number=number, issued_at=now))
            Card.objects.bulk_create(cards)
            Consent.objects.bulk_create(
                Consent(
                    member=member,
                    purpose=purpose,
                    channel=channel,
                    given=given,
                    recorded_at=now,
                    source="import",
                    text_version=version,
                )
                for member in members
                for purpose, channel, given in (
                    (Consent.Purpose.PERSONAL_DATA, Consent.Channel.ANY, True),
                    (Consent.Purpose.MARKETING, Consent.Channel.SMS, rng.random() < 0.5),
                    (Consent.Purpose.MARKETING, Consent.Channel.EMAIL, False),
                )
            )
            transfers = Transfer.objects.bulk_create(
                Transfer(
                    kind=Transfer.Kind.ADJUST,
                    member=member,
                    points=points,
                    created_at=now,
                    reason="bench: opening balance",
                    actor_label=label,
                )
                for member, points in zip(members, balances, strict=True)
            )
            Posting.objects.bulk_create(
                Posting(
                    transfer=transfer, account=account, member_id=transfer.member_id, amount=amount
                )
                for transfer in transfers
                for account, amount in (
                    (Posting.Account.ADJUSTMENT, -transfer.points),
                    (Posting.Account.MEMBER, transfer.points),
                )
            )
            PointLot.objects.bulk_create(
                PointLot(
                    member_id=transfer.member_id,
                    transfer=transfer,
                    points=transfer.points,
                    remaining=transfer.points,
                    earned_at=now,
                    available_at=now,
                    expires_at=expires_at,
                )
                for transfer in transfers
            )
            AuditEntry.objects.bulk_create(
                AuditEntry(
                    created_at=now,
                    actor_label=label,
                    action=action,
                    target_type=target,
                    target_id=target_id,
                    member_id=member.pk,
                    data=data,
                )
                for member, transfer in zip(members, transfers, strict=True)
                for action, target, target_id, data in (
                    (
                        "member.enroll",
                        "member",
                        member.pk,
                        {"source": "import", "store_id": store_id},
                    ),
                    (
                        "points.adjust",
                        "member",
                        member.pk,
                        {
                            "points": transfer.points,
                            "reason": transfer.reason,
                            "transfer_id": transfer.pk,
                        },
                    ),
                )
            )
            ids.extend(member.pk for member in members)
    return ids


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------------------------
# CPU accounting from /proc
# --------------------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of a process, None if it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


_BACKEND = re.compile(r"^postgres: [^:]+: (\S+) (\S+) (\S+\(\d+\)|\[local\])")


def _ours(pid: int, database: str) -> bool:
    """A PostgreSQL process that works for this bench: our database's backends and the shared
    background processes (WAL writer, checkpointer, ...); other databases' backends are not."""
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return False
    match = _BACKEND.match(cmdline)
    return match is None or match.group(2) == database


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuSnapshot:
    wall: float
    client: float
    server: dict[int, float]
    postgres: dict[int, float]
    foreign: dict[int, float]
    machine_busy: float


def cpu_snapshot(server_pid: int | None, database: str) -> CpuSnapshot:
    server: dict[int, float] = {}
    postgres: dict[int, float] = {}
    foreign: dict[int, float] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _proc_stat(pid)
        if stat is None or pid == me:
            continue
        comm, ppid, cpu = stat
        if server_pid is not None and server_pid in (pid, ppid):
            server[pid] = cpu
        elif comm.startswith("postgres") and _ours(pid, database):
            postgres[pid] = cpu
        elif ppid != me:  # not pgbench or manage.py
            foreign[pid] = cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot(
        time.monotonic(),
        usage.ru_utime + usage.ru_stime,
        server,
        postgres,
        foreign,
        _machine_busy()[0],
    )


def cpu_delta(before: CpuSnapshot, after: CpuSnapshot, requests: int) -> dict[str, Any]:
    """CPU seconds used during a phase: by the client (this process), gunicorn (master and
    workers), PostgreSQL (for this database), and everything else on the machine."""

    def delta(a: dict[int, float], b: dict[int, float]) -> float:
        # Processes that ended during the phase are lost; gunicorn workers and their persistent
        # backends live through the whole phase.
        return sum(cpu - a.get(pid, 0.0) for pid, cpu in b.items())

    wall = after.wall - before.wall
    figures = {
        "client_s": after.client - before.client,
        "gunicorn_s": delta(before.server, after.server),
        "postgres_s": delta(before.postgres, after.postgres),
        "machine_busy_s": after.machine_busy - before.machine_busy,
    }
    # Two views of interference: what nothing of ours explains (kernel work included), and
    # what other processes alive at both ends of the phase were measured to use.
    figures["other_s"] = max(
        0.0,
        figures["machine_busy_s"]
        - figures["client_s"]
        - figures["gunicorn_s"]
        - figures["postgres_s"],
    )
    figures["foreign_processes_s"] = delta(before.foreign, after.foreign)
    out: dict[str, Any] = {"wall_s": round(wall, 2)}
    out.update({k: round(v, 2) for k, v in figures.items()})
    cpus = os.cpu_count() or 1
    out["machine_busy_share"] = (
        round(figures["machine_busy_s"] / (wall * cpus), 3) if wall else None
    )
    if requests:
        for name in ("client", "gunicorn", "postgres"):
            out[f"{name}_ms_per_request"] = round(figures[f"{name}_s"] * 1000 / requests, 3)
    return out


DISTURBED_SHARE = 0.05  # of the machine's CPU capacity during a phase


def disturbed(cpu: dict[str, Any], key: str) -> bool:
    return bool(cpu[key] > DISTURBED_SHARE * cpu["wall_s"] * (os.cpu_count() or 1))


def warn_if_disturbed(name: str, cpu: dict[str, Any], key: str) -> None:
    if disturbed(cpu, key):
        log(f"WARNING: something else used {cpu[key]} CPU s during {name}: the figures are off")


# --------------------------------------------------------------------------------------------
# Gunicorn
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self.port = free_port()
        self.name = args.server
        handle, name = tempfile.mkstemp(prefix="pos_commit-gunicorn-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        if args.server == "granian":
            cmd = [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--working-dir",
                str(SRC),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(args.workers),
                "--blocking-threads",
                str(args.threads),
                "--log-level",
                "warning",
                "--no-access-log",
                "kopilka.wsgi:application",
            ]
        else:
            cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "kopilka.wsgi:application",
                "--pythonpath",
                str(SRC),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                args.worker_class,
                "--log-level",
                "warning",
            ]
            if args.worker_class == "gthread":
                cmd += ["--threads", str(args.threads)]
        self.command = cmd
        with self.log_path.open("wb") as log_file:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                cmd,
                env=server_env(url),
                cwd=REPO,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_tail(self, lines: int = 30) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        conn = HttpConnection("127.0.0.1", self.port)
        request = build_get("/healthz", self.port)
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                status, _body = conn.request(request)
                if status == 200:
                    conn.close()
                    self._wait_workers_idle(deadline)
                    return
            except OSError:
                conn.close()
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def _wait_workers_idle(self, deadline: float) -> None:
        """Every worker done starting (each loads all views first, ~2.5 s of CPU): the clients'
        keep-alive connections would otherwise all land on the worker that was ready first."""
        before = cpu_snapshot(self.pid, "").server  # CPU seconds of the server and its workers
        while time.monotonic() < deadline:
            time.sleep(0.5)
            after = cpu_snapshot(self.pid, "").server
            if all(after[pid] - before.get(pid, 0.0) < 0.05 for pid in after):
                return
            before = after
        raise RuntimeError(f"{self.name} workers still starting:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        with suppress(OSError):
            self.log_path.unlink()


# --------------------------------------------------------------------------------------------
# A lean HTTP/1.1 keep-alive client (stdlib sockets), so the client costs little CPU
# --------------------------------------------------------------------------------------------


class ConnectionClosed(OSError):
    pass


class HttpConnection:
    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.reused = False
        self.connects = 0

    def close(self) -> None:
        if self.sock is not None:
            with suppress(OSError):
                self.sock.close()
        self.sock, self.buffer, self.reused = None, b"", False

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        return chunk

    def request(self, data: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.sock is None:
                self.sock = socket.create_connection(self.address)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connects += 1
            reused = self.reused
            try:
                self.sock.sendall(data)
                return self._response()
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                self.close()
                # A keep-alive connection the server closed while idle: send again, once.
                if attempt == 2 or not reused or self.buffer:
                    raise
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, bytes]:
        buf = self.buffer
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv()
        lines = buf[:end].decode("latin-1").split("\r\n")
        rest = buf[end + 4 :]
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            size = int(headers["content-length"])
            while len(rest) < size:
                rest += self._recv()
            body, rest = rest[:size], rest[size:]
        elif headers.get("transfer-encoding") == "chunked":
            body, rest = self._chunked(rest)
        else:  # body until the server closes
            parts = [rest]
            with suppress(ConnectionClosed):
                while True:
                    parts.append(self._recv())
            body, rest = b"".join(parts), b""
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            self.close()
        else:
            self.buffer, self.reused = rest, True
        return status, body

    def _chunked(self, rest: bytes) -> tuple[bytes, bytes]:
        body = []
        while True:
            while (eol := rest.find(b"\r\n")) < 0:
                rest += self._recv()
            size = int(rest[:eol].split(b";")[0], 16)
            rest = rest[eol + 2 :]
            while len(rest) < size + 2:
                rest += self._recv()
            if size == 0:
                while (end := rest.find(b"\r\n")) != 0:  # skip trailers
                    if end > 0:
                        rest = rest[end + 2 :]
                    else:
                        rest += self._recv()
                return b"".join(body), rest[2:]
            body.append(rest[:size])
            rest = rest[size + 2 :]


def build_get(path: str, port: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def build_post(path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(head).encode() + body


SKUS = [
    (f"SKU-{n:05d}", f"Item {n}", ("food", "drinks", "household", "bakery")[n % 4])
    for n in range(500)
]


def purchase_body(
    rng: random.Random, member_ids: list[int], receipt_number: str, redeem_share: float
) -> dict[str, Any]:
    lines = []
    for _ in range(rng.randint(1, 3)):
        sku, name, category = rng.choice(SKUS)
        rub, kop = rng.randint(30, 2500), rng.choice((0, 0, 50, 90, 99))
        lines.append(
            {
                "sku": sku,
                "name": name,
                "category": category,
                "quantity": str(rng.randint(1, 3)),
                "price": f"{rub}.{kop:02d}",
            }
        )
    return {
        "member_id": rng.choice(member_ids),
        "store": STORE,
        "receipt_number": receipt_number,
        "lines": lines,
        "redeem_points": "max" if rng.random() < redeem_share else 0,
    }


@dataclass
class PhaseResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    connects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def run_phase(
    name: str,
    *,
    port: int,
    clients: int,
    seconds: float,
    warmup: float,
    make_request: Callable[[random.Random, int, int], bytes],
    expected: int,
    seed: int,
    server_pid: int | None,
    database: str,
) -> tuple[dict[str, Any], PhaseResult]:
    """`clients` threads on keep-alive connections; latencies of requests done in the window."""
    result = PhaseResult()
    stop = threading.Event()
    start_at = time.perf_counter() + 0.2
    measure_from = start_at + warmup
    measure_to = measure_from + seconds
    cpu_box: dict[str, CpuSnapshot] = {}

    def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        conn = HttpConnection("127.0.0.1", port)
        latencies: list[float] = []
        errors = 0
        samples: list[dict[str, Any]] = []
        seq = 0
        while (now := time.perf_counter()) < start_at:
            time.sleep(start_at - now)
        while not stop.is_set() and time.perf_counter() < measure_to:
            seq += 1
            data = make_request(rng, index, seq)
            t0 = time.perf_counter()
            try:
                status, body = conn.request(data)
            except OSError as exc:
                status, body = 0, repr(exc).encode()
                conn.close()
            t1 = time.perf_counter()
            if measure_from <= t1 <= measure_to:
                latencies.append(t1 - t0)
                if status != expected:
                    errors += 1
                    if len(samples) < 3:
                        samples.append(
                            {"status": status, "body": body[:500].decode(errors="replace")}
                        )
        conn.close()
        with result.lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.samples.extend(samples)
            result.connects += conn.connects

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    log(f"{name}: {clients} clients, {warmup:g}s warm-up + {seconds:g}s measured")
    for thread in threads:
        thread.start()
    try:
        while (now := time.perf_counter()) < measure_from:
            time.sleep(measure_from - now)
        cpu_box["before"] = cpu_snapshot(server_pid, database)
        while (now := time.perf_counter()) < measure_to:
            time.sleep(measure_to - now)
        cpu_box["after"] = cpu_snapshot(server_pid, database)
        for thread in threads:
            thread.join(timeout=120)
    finally:
        stop.set()
    values = sorted(result.latencies)
    n = len(values)
    summary: dict[str, Any] = {
        "requests": n,
        "rate_per_s": round(n / seconds, 1),
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p90_ms": round(percentile(values, 90) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2) if values else None,
        "mean_ms": round(sum(values) / n * 1000, 2) if n else None,
        "errors": result.errors,
        "tcp_connections": result.connects,
        "cpu": cpu_delta(cpu_box["before"], cpu_box["after"], n),
    }
    if result.samples:
        summary["error_samples"] = result.samples[:5]
        for sample in result.samples[:3]:
            log(f"{name}: ERROR sample: HTTP {sample['status']} {sample['body'][:300]}")
    log(
        f"{name}: {summary['rate_per_s']}/s p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms "
        f"errors {result.errors}; CPU s: {summary['cpu']}"
    )
    warn_if_disturbed(name, summary["cpu"], "other_s")
    return summary, result


# --------------------------------------------------------------------------------------------
# pgbench
# --------------------------------------------------------------------------------------------

PGBENCH_TABLES = """
DROP TABLE IF EXISTS bench_member, bench_purchase, bench_posting;
CREATE TABLE bench_member (LIKE members_member INCLUDING ALL);
INSERT INTO bench_member SELECT * FROM members_member;
CREATE TABLE bench_purchase (LIKE pos_purchase INCLUDING ALL);
CREATE TABLE bench_posting (LIKE ledger_posting INCLUDING ALL);
"""

PGBENCH_SCRIPT = """\
\\set mid random({low}, {high})
\\set amount random(3000, 750000)
BEGIN;
SELECT id, status, points_balance FROM bench_member WHERE id = :mid FOR UPDATE;
INSERT INTO bench_purchase (store_id, terminal_id, member_id, receipt_number, created_at, amount, redeem_points, payable, earn_points) VALUES (1, 1, :mid, gen_random_uuid()::text, now(), :amount, 0, :amount, :amount / 2000) RETURNING id;
INSERT INTO bench_posting (transfer_id, account, member_id, amount) VALUES (lastval(), 'member', :mid, :amount / 2000);
UPDATE bench_member SET points_balance = points_balance + :amount / 2000 WHERE id = :mid;
END;
"""


# The real commit's SQL, statement for statement (a plain earning receipt with two lines) on the
# product tables, prepared as the server prepares them: the member's points read with a purchase
# id (also the connection's health check), and the one call that writes everything. What
# PostgreSQL alone needs for the commit as written; the write is balanced, so ledger_check still
# holds after it.
PGBENCH_FULL_SCRIPT = """\
\\set mid {low} + :client_id + {clients} * random(0, {span})
\\set amount random(3000, 750000)
\\set earn :amount / 2000 + 1
SELECT nextval(pg_get_serial_sequence('pos_purchase', 'id')) AS pid, COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at <= now()), 0) AS available, COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at > now()), 0) AS pending FROM members_member m LEFT JOIN ledger_pointlot l ON l.member_id = m.id AND l.remaining > 0 AND l.expires_at > now() WHERE m.id = :mid GROUP BY m.id \\gset
SELECT kopilka_purchase_commit(jsonb_build_object('key', gen_random_uuid()::text, 'receipt_number', gen_random_uuid()::text, 'request_hash', md5(random()::text) || md5(random()::text), 'at', now(), 'available_at', now(), 'expires_at', now() + interval '366 days', 'purchase_id', :pid::bigint, 'member_id', :mid::bigint, 'available', :available::bigint, 'pending', :pending::bigint, 'amount', :amount::bigint + 20000, 'payable', :amount::bigint + 20000, 'redeem', 0, 'earn', :earn::bigint, 'member_delta', :earn::bigint, 'transfers', jsonb_build_array(jsonb_build_object('kind', 'earn', 'points', :earn::bigint, 'legs', jsonb_build_array(jsonb_build_array('issued', -:earn::bigint), jsonb_build_array('member', :earn::bigint)))), 'lines', jsonb_build_array(jsonb_build_object('position', 1, 'sku', 'SKU-00001', 'name', 'Item 1', 'category', 'food', 'quantity', '1', 'price', :amount::bigint, 'amount', :amount::bigint, 'redeem_points', 0, 'earn_points', :earn::bigint), jsonb_build_object('position', 2, 'sku', 'SKU-00002', 'name', 'Item 2', 'category', 'drinks', 'quantity', '2', 'price', 10000, 'amount', 20000, 'redeem_points', 0, 'earn_points', 0))) || '{{"scope": "pgbench-full", "store_id": {store}, "terminal_id": {terminal}, "actor_label": "pgbench-full", "audit": {{"amount": 1, "redeem": 0, "earn": 1}}, "response": {response}}}'::jsonb);
"""


def _sample_response() -> str:
    """A response body of the usual size, stored by the idempotency UPDATE (no ':' + letter,
    which pgbench would take for a variable)."""
    line = {"sku": "SKU-00001", "amount": "1234.50", "redeem_points": 0, "payable": "1234.50"}
    body = {
        "id": 1,
        "receipt_number": "r-1",
        "created_at": "2026-11-23 12 00 00",
        "member_id": 1,
        "lines": [{**line, "earn_points": 61}] * 2,
        "totals": {
            "amount": "2469.00",
            "redeem_points": 0,
            "payable": "2469.00",
            "earn_points": 123,
        },
        "max_redeemable": 740,
        "balance_after": {"available": 1500, "pending": 0},
        "explanation": ["Вы получаете 123 балла: 5 % от оплаченных 2469.00 ₽."] * 2,
    }
    return json.dumps(body, ensure_ascii=False).replace("'", "''")


def _pgbench(
    name: str, url: str, clients: int, seconds: float, script_text: str, protocol: str = "simple"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pos_commit-pgbench-") as tmp:
        script = Path(tmp) / f"{name}.sql"
        script.write_text(script_text)
        cmd = [
            "pgbench",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(max(1, round(seconds))),
            "-n",
            "-M",
            protocol,
            "-f",
            str(script),
            libpq_url(url),
        ]
        log(f"{name}: {' '.join(cmd[:-1])} <database>")
        before = cpu_snapshot(None, database_name(url))
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = cpu_snapshot(None, database_name(url))
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stdout}\n{proc.stderr}")
    out = proc.stdout

    def grab(pattern: str) -> float | None:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else None

    cpu = cpu_delta(before, after, 0)
    # pgbench's backends exit before the second snapshot: only the machine total is meaningful.
    cpu = {
        k: cpu[k] for k in ("wall_s", "machine_busy_s", "machine_busy_share", "foreign_processes_s")
    }
    cpu["pgbench_s"] = round(
        usage_after.ru_utime + usage_after.ru_stime - usage_before.ru_utime - usage_before.ru_stime,
        2,
    )
    result = {
        "tps": grab(r"tps = ([\d.]+) \(without initial connection time\)"),
        "latency_ms": grab(r"latency average = ([\d.]+) ms"),
        "transactions": int(grab(r"number of transactions actually processed: (\d+)") or 0),
        "failed": int(grab(r"number of failed transactions: (\d+)") or 0),
        "command": " ".join(cmd[:-1]).replace(str(script), f"{name}.sql")
        + " "
        + database_name(url),
        "script": script_text,
        "cpu": cpu,
    }
    if result["tps"] is None or result["failed"]:
        raise RuntimeError(f"{name}: no tps or failed transactions:\n{out}\n{proc.stderr}")
    log(f"{name}: {result['tps']} tps, latency {result['latency_ms']} ms; CPU s: {cpu}")
    warn_if_disturbed(name, cpu, "foreign_processes_s")
    return result


def run_pgbench(url: str, clients: int, seconds: float, member_ids: list[int]) -> dict[str, Any]:
    """The floor the issue asks for: the commit's core transaction on scratch tables."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for statement in filter(str.strip, PGBENCH_TABLES.split(";")):
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE bench_member, bench_purchase, bench_posting")
    script = PGBENCH_SCRIPT.format(low=min(member_ids), high=max(member_ids))
    return _pgbench("pgbench", url, clients, seconds, script)


def run_pgbench_full(
    url: str, clients: int, seconds: float, member_ids: list[int]
) -> dict[str, Any]:
    """The commit's own statements on the product tables: PostgreSQL's share of a commit."""
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        store, terminal = conn.execute(
            "SELECT s.id, t.id FROM pos_store s JOIN pos_terminal t ON t.store_id = s.id "
            "WHERE s.code = %s ORDER BY t.id LIMIT 1",
            [STORE],
        ).fetchone()  # type: ignore[misc]
    # Each client buys for members of its own (ids are consecutive): the real commit hands a
    # member whose points changed between its read and its write to the locked path, which
    # pgbench cannot do, so it would abort the client.
    assert max(member_ids) - min(member_ids) + 1 == len(member_ids), "member ids not consecutive"
    script = PGBENCH_FULL_SCRIPT.format(
        low=min(member_ids),
        clients=clients,
        span=len(member_ids) // clients - 1,
        store=store,
        terminal=terminal,
        response=_sample_response(),
    )
    return _pgbench("pgbench_full", url, clients, seconds, script, protocol="prepared")


# --------------------------------------------------------------------------------------------
# Profile: one commit at a time, in this process, through the WSGI application gunicorn runs
# --------------------------------------------------------------------------------------------


def _wsgi_call(app: Callable[..., Any], key: str, body: bytes, idem: str) -> tuple[int, bytes]:
    from wsgiref.util import setup_testing_defaults

    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/purchases",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "HTTP_IDEMPOTENCY_KEY": idem,
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    box: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        box["status"] = int(status.split(" ", 1)[0])

    response = app(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        response.close()  # request_finished, as under gunicorn
    return box["status"], content


_WIRE_MESSAGES = re.compile(r"^F\t\d+\t(Query|Parse|Bind|Execute|Sync)\t?(.*)$")


def _wire_statements(trace: str, prepared: dict[str, str]) -> tuple[list[str], int]:
    """Statements the client sent, and round trips (ReadyForQuery), from a libpq trace;
    `prepared` names the statements prepared earlier on the connection (Bind "" "name")."""
    statements = []
    round_trips = 0
    for line in trace.splitlines():
        if "\tReadyForQuery\t" in line and line.startswith("B\t"):
            round_trips += 1
        match = _WIRE_MESSAGES.match(line)
        if match and match.group(1) == "Bind":
            names = re.findall(r'"((?:[^"]|"")*)"', match.group(2))
            if len(names) > 1 and names[1] in prepared:
                statements.append(" ".join(prepared[names[1]].split()) + " [prepared]")
        elif match and match.group(1) in {"Query", "Parse"}:
            text = match.group(2).strip()
            if match.group(1) == "Parse":  # Parse "name" "sql" ...
                parts = re.findall(r'"((?:[^"]|"")*)"', text)
                text = parts[1] if len(parts) > 1 else text
            else:
                text = text[1:-1] if text.startswith('"') else text
            statements.append(" ".join(text.replace('""', '"').split()))
    return statements, round_trips


def _label(sql: str) -> str:
    """A short name for a statement: verb, table and what matters for locking."""
    s = sql.upper()
    if s in {"BEGIN", "COMMIT", "ROLLBACK", "SELECT 1"}:
        return s + (" (connection health check)" if s == "SELECT 1" else "")
    prepared = " [prepared]" if s.endswith("[PREPARED]") else ""
    if "KOPILKA_PURCHASE_COMMIT" in s:
        return (
            "SELECT kopilka_purchase_commit(jsonb) (the whole write, its own transaction)"
            + prepared
        )
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?([a-z_]+)"?', sql, re.IGNORECASE)
    name = table.group(1) if table else "?"
    verb = s.split(None, 1)[0]
    extra = []
    if "FOR UPDATE" in s:
        extra.append("FOR UPDATE")
    if "ON CONFLICT" in s:
        extra.append("ON CONFLICT DO NOTHING")
    if verb == "SELECT" and "SUM(" in s:
        extra.append("SUM aggregate")
    if verb == "INSERT":
        rows = s.count("), (") + 1 if "VALUES" in s else 1
        if rows > 1:
            extra.append(f"{rows} rows")
    return f"{verb} {name}" + (f" ({', '.join(extra)})" if extra else "") + prepared


def _package(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    if path == "~":
        return "psycopg / waiting for PostgreSQL" if "psycopg" in function else "builtins (C)"
    for needle, name in (
        ("/kopilka/", "kopilka"),
        ("/django/db/", "django.db (ORM)"),
        ("/django/", "django (request, middleware, i18n, ...)"),
        ("/ninja/", "ninja"),
        ("/pydantic", "pydantic"),
        ("/psycopg", "psycopg / waiting for PostgreSQL"),
    ):
        if needle in path:
            return name
    return "stdlib and others"


def run_profile(
    key: str, member_ids: list[int], commits: int, seed: int, database: str
) -> dict[str, Any]:
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections, connection

    from kopilka.members.models import Member

    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic
    app = get_wsgi_application()
    rng = random.Random(seed + 7)
    run = uuid.uuid4().hex[:8]
    counter = iter(range(1, 10**9))

    def one(redeem: str | int | None = None, member_id: int | None = None) -> tuple[int, bytes]:
        n = next(counter)
        body = purchase_body(rng, member_ids, f"p{run}-{n}", 0.0)
        if redeem is not None:
            body["redeem_points"] = redeem
        if member_id is not None:
            body["member_id"] = member_id
        return _wsgi_call(app, key, json.dumps(body).encode(), f"profile-{run}-{n}")

    for _ in range(20):  # warm imports, caches (terminal key, rules) and the connection
        status, content = one()
        assert status == 201, (status, content)

    # 1. Wire-level statement list of one plain and one redeeming commit.
    rich = Member.objects.order_by("-points_balance").values_list("pk", flat=True).first()
    connection.close()
    wire: dict[str, Any] = {}
    for case, redeem, member in (("plain", 0, None), ("redeem_max", "max", rich)):
        for _ in range(6):  # the connection open and past psycopg's prepare threshold (5)
            one()
        pgconn = connection.connection.pgconn
        with tempfile.TemporaryFile("w+") as trace:
            import psycopg

            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
            status, content = one(redeem, member)
            pgconn.untrace()
            trace.seek(0)
            prepared = dict(
                connection.connection.execute(
                    "SELECT name, statement FROM pg_prepared_statements"
                ).fetchall()
            )
            statements, round_trips = _wire_statements(trace.read(), prepared)
        assert status == 201, (status, content)
        totals = json.loads(content)["totals"]
        wire[case] = {
            "statements": len(statements),
            "round_trips": round_trips,
            "redeem_points": totals["redeem_points"],
            "earn_points": totals["earn_points"],
            "list": [_label(s) for s in statements],
            "sql": [s[:240] for s in statements],
        }

    # 2. Where the wall time goes, one commit at a time: SQL execute, COMMIT, the rest (Python).
    sql_time = [0.0]
    sql_count = [0]
    commit_time = [0.0]

    def timed_execute(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - t0
            sql_count[0] += 1

    walls = []
    original_commit = connection._commit

    def timed_commit() -> None:
        t0 = time.perf_counter()
        try:
            original_commit()
        finally:
            commit_time[0] += time.perf_counter() - t0

    connection._commit = timed_commit  # type: ignore[method-assign]
    before = cpu_snapshot(None, database)
    try:
        with connection.execute_wrapper(timed_execute):
            for _ in range(commits):
                close_old_connections()  # what request_started does (the health-check flag)
                t0 = time.perf_counter()
                status, content = one(redeem="max" if rng.random() < 0.2 else 0)
                walls.append(time.perf_counter() - t0)
                assert status == 201, (status, content)
    finally:
        del connection._commit  # type: ignore[attr-defined]
    cpu = cpu_delta(before, cpu_snapshot(None, database), commits)
    wall = sum(walls)
    walls.sort()
    timing = {
        "commits": commits,
        "wall_ms_per_commit_mean": round(wall / commits * 1000, 3),
        "wall_ms_per_commit_p50": round(percentile(walls, 50) * 1000, 3),
        "sql_statements_per_commit_mean": round(sql_count[0] / commits, 2),
        "sql_execute_ms_per_commit": round(sql_time[0] / commits * 1000, 3),
        "commit_ms_per_commit": round(commit_time[0] / commits * 1000, 3),
        "python_ms_per_commit": round((wall - sql_time[0] - commit_time[0]) / commits * 1000, 3),
        "cpu_ms_per_commit": {
            "django_process": cpu["client_ms_per_request"],
            "postgres": cpu["postgres_ms_per_request"],
        },
        "foreign_processes_s": cpu["foreign_processes_s"],
    }

    # 3. cProfile of the same loop, total time grouped by package and the top functions.
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(commits):
        close_old_connections()
        one(redeem="max" if rng.random() < 0.2 else 0)
    profiler.disable()
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = defaultdict(float)
    rows = []
    total = 0.0
    for (filename, line, function), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        groups[_package(filename, function)] += tottime
        total += tottime
        short = filename.split("site-packages/")[-1].split("/src/")[-1]
        rows.append((tottime, cumtime, f"{short}:{line}({function})"))
    rows.sort(reverse=True)
    cprofile = {
        "note": "self time by package under cProfile (inflates Python), share of the total",
        "by_package": {
            name: round(seconds / total, 3)
            for name, seconds in sorted(groups.items(), key=lambda item: -item[1])
        },
        "top_self_time": [
            {"function": name, "self_ms_per_commit": round(tt / commits * 1000, 3)}
            for tt, _ct, name in rows[:15]
        ],
    }
    connection.close()
    log(
        f"profile: {timing['wall_ms_per_commit_mean']} ms/commit, "
        f"{wire['plain']['statements']} statements (plain), {wire['redeem_max']['statements']} (redeem)"
    )
    return {"wire": wire, "timing": timing, "cprofile": cprofile}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.database_url
    rng = random.Random(args.seed)
    began = time.monotonic()
    out: dict[str, Any] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": args.workers,
    }

    log(f"setup: recreating database {database_name(url)}")
    t0 = time.monotonic()
    database_create(url, drop=True, force=args.force)
    manage(url, "migrate", "--noinput", "-v0")
    terminal = manage(
        url,
        "create_terminal",
        "--store",
        STORE,
        "--store-name",
        "Bench store",
        "--name",
        "Bench till",
    )
    key = terminal.stdout.strip().splitlines()[-1].strip()
    django_setup(url)
    from django.db import connection

    member_ids = enrol_members(args.members, rng)
    connection.close()
    vacuum_analyze(url)
    setup_s = time.monotonic() - t0
    log(f"setup: {len(member_ids)} members in {setup_s:.1f}s")

    run_id = uuid.uuid4().hex[:10]
    server: Server | None = None
    with terminate_on_sigterm():
        try:
            server = Server(url, args)
            server.wait_ready()
            port = server.port
            auth = f"Bearer {key}"

            def commit_request(r: random.Random, client: int, seq: int) -> bytes:
                number = f"{run_id}-{client}-{seq}"
                body = purchase_body(r, member_ids, number, args.redeem_share)
                headers = {"Authorization": auth, "Idempotency-Key": f"bench-{number}"}
                return build_post("/api/v1/purchases", port, headers, json.dumps(body).encode())

            healthz = build_get("/healthz", port)
            commit, _ = run_phase(
                "commit",
                port=port,
                clients=args.clients,
                seconds=args.seconds,
                warmup=args.warmup,
                make_request=commit_request,
                expected=201,
                seed=args.seed,
                server_pid=server.pid,
                database=database_name(url),
            )
            health, _ = run_phase(
                "healthz",
                port=port,
                clients=args.clients,
                seconds=args.seconds,
                warmup=args.warmup,
                make_request=lambda r, c, s: healthz,
                expected=200,
                seed=args.seed,
                server_pid=server.pid,
                database=database_name(url),
            )
            server_info = {
                "command": " ".join([args.server, *server.command[3:]]).replace(
                    str(REPO) + "/", ""
                ),
                "worker_class": args.worker_class if args.server == "gunicorn" else None,
                "threads": args.threads
                if args.server == "granian" or args.worker_class == "gthread"
                else 1,
                "env": "DEBUG=false ALLOWED_HOSTS=127.0.0.1 DB_CONN_MAX_AGE=600 "
                f"DB_CONN_HEALTH_CHECKS={os.environ.get('DB_CONN_HEALTH_CHECKS', 'true')}",
            }
        finally:
            if server is not None:
                server.stop()
                log(f"{server.name} stopped")

        pgbench = run_pgbench(url, args.clients, args.seconds, member_ids)
        profile = None
        if not args.no_profile:
            profile = run_profile(
                key, member_ids, args.profile_commits, args.seed, database_name(url)
            )
        full = None
        if not args.no_full_pgbench:
            full = run_pgbench_full(url, args.clients, args.seconds, member_ids)
        checked = manage(url, "ledger_check", check=False)
        ledger = (
            "OK" if checked.returncode == 0 else (checked.stderr.strip() or checked.stdout.strip())
        )

    tps = pgbench["tps"] or float("nan")
    out["commit"] = commit
    out["healthz"] = health
    out["pgbench"] = pgbench
    out["ratio_commit_to_pgbench"] = round(commit["rate_per_s"] / tps, 3)
    out["ratio_healthz_to_pgbench"] = round(health["rate_per_s"] / tps, 3)
    if full is not None:
        out["pgbench_full_commit_sql"] = full
        out["ratio_commit_to_pgbench_full"] = round(commit["rate_per_s"] / full["tps"], 3)
    out["target"] = {
        "commit_ratio_min": 0.3,
        "p99_ms_max": 100,
        "met": bool(out["ratio_commit_to_pgbench"] >= 0.3 and commit["p99_ms"] < 100),
    }
    out["ledger_check"] = ledger
    out["interference_cpu_s"] = {
        "commit": commit["cpu"]["other_s"],
        "healthz": health["cpu"]["other_s"],
        "pgbench": pgbench["cpu"]["foreign_processes_s"],
        "pgbench_full": full["cpu"]["foreign_processes_s"] if full else None,
        "quiet_machine": not (
            disturbed(commit["cpu"], "other_s")
            or disturbed(health["cpu"], "other_s")
            or disturbed(pgbench["cpu"], "foreign_processes_s")
            or (full is not None and disturbed(full["cpu"], "foreign_processes_s"))
        ),
    }
    out["client_cpu_s"] = round(commit["cpu"]["client_s"] + health["cpu"]["client_s"], 2)
    out["client"] = "stdlib Python threads, raw-socket HTTP/1.1 keep-alive, in the bench process"
    out["server"] = server_info
    out["members"] = len(member_ids)
    out["setup_s"] = round(setup_s, 1)
    out["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if profile is not None:
        out["profile"] = profile
    out["run_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(out, indent=2))
    return 0 if commit["errors"] == 0 and ledger == "OK" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt or 'Ctrl-C'}); cleaned up")
        sys.exit(130)
