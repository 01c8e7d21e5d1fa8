"""What checking a terminal's key on every request costs, beside the cheapest statement there is.

    .venv/bin/python bench/terminal_auth.py [--database-url postgres://.../kopilka_bench_auth] [--calls 5000]

Creates (or reuses) the database, migrates it, creates a terminal, then in one process alternates
blocks of `terminal_authenticate(key)` (the prepared read of the terminal and its store that every
API request makes) and of `SELECT 1` through a Django cursor (Django's own health check), and
prints one JSON object: microseconds per call (wall and this process's CPU, the median of the
blocks) and their ratio. Ratios from one run are the figure; the machine's speed drifts.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).parent)]

from benchdb import database_create  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed(call: object, calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()  # type: ignore[operator]
    return (time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/kopilka_bench_auth"
    )
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=7)
    args = parser.parse_args()
    database_create(args.database_url, drop=True, force=False)
    os.environ["DATABASE_URL"] = args.database_url
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    import django

    django.setup()
    from django.db import connection

    from kopilka.core.audit import Actor
    from kopilka.pos.terminals import terminal_authenticate, terminal_create

    _terminal, key = terminal_create(store_code="bench", actor=Actor.system("bench"))

    def select_1() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def authenticate() -> None:
        assert terminal_authenticate(key) is not None

    timed(authenticate, 200)  # psycopg prepares the statement after 5 runs
    auth, base = [], []
    for _ in range(args.blocks):
        auth.append(timed(authenticate, args.calls))
        base.append(timed(select_1, args.calls))
    figures = {
        "benchmark": "terminal_auth",
        "calls_per_block": args.calls,
        "blocks": args.blocks,
        "auth_us_wall": round(statistics.median(w for w, _ in auth), 1),
        "auth_us_cpu": round(statistics.median(c for _, c in auth), 1),
        "select_1_us_wall": round(statistics.median(w for w, _ in base), 1),
        "select_1_us_cpu": round(statistics.median(c for _, c in base), 1),
    }
    figures["auth_to_select_1_wall"] = round(
        figures["auth_us_wall"] / figures["select_1_us_wall"], 2
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
