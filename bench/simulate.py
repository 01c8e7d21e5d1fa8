"""What-if simulation speed: the demo's purchases replayed under the live program and a draft.

    .venv/bin/python bench/simulate.py [--members 2000] [--purchases 20000] [--months 12] [--reuse]

Creates its own PostgreSQL database (a name with "bench" in it), migrates it, loads the demo
(`manage.py load_demo`: purchases, returns, redemptions through the engine), then times
`program.simulation.simulate` over the whole period with a draft that earns 7 % instead of 5 %,
with --workers processes (default: the CPUs), and prints JSON: purchases, seconds, purchases per second, the time 1,000,000
purchases would take at that rate, and whether the live side reproduced the ledger (its points
earned against the purchases' own).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from benchdb import database_create
from timing import machine_cpu_seconds, own_cpu_seconds

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_simbench"
TARGET_S_PER_MILLION = 60.0


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return done.stdout


def load(url: str, args: argparse.Namespace) -> dict[str, int]:
    database_create(url, drop=True, force=False)
    manage(url, "migrate", "--noinput", "-v0")
    loaded: dict[str, int] = json.loads(
        manage(
            url,
            "load_demo",
            "--members",
            str(args.members),
            "--purchases",
            str(args.purchases),
            "--months",
            str(args.months),
            "--seed",
            str(args.seed),
        ).splitlines()[0]
    )
    return loaded


def loaded_before(url: str) -> dict[str, int] | None:
    """What the database holds already, or None when it has no purchases."""
    import psycopg

    from benchdb import libpq_url

    try:
        with psycopg.connect(libpq_url(url)) as conn:
            counts = {
                name: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for name, table in (
                    ("members", "members_member"),
                    ("purchases", "pos_purchase"),
                    ("returns", "pos_purchasereturn"),
                )
            }
    except psycopg.Error:
        return None
    return counts if counts["purchases"] else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--purchases", type=int, default=20000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--reuse", action="store_true", help="time the data already loaded there (no new demo)"
    )
    args = parser.parse_args()

    url = args.database_url
    loaded = loaded_before(url) if args.reuse else None
    if loaded is None:
        loaded = load(url, args)

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    sys.path.insert(0, str(REPO / "src"))
    import django

    django.setup()
    from django.db.models import Sum

    from kopilka.core import clock
    from kopilka.pos.models import Purchase
    from kopilka.program.engine import Program
    from kopilka.program.simulation import simulate

    now = clock.now()
    since = now - timedelta(days=round(args.months * 31) + 1)
    wall, own, machine = time.perf_counter(), own_cpu_seconds(), machine_cpu_seconds()
    result = simulate(
        Program(earn_percent=Decimal(7)), since=since, until=now, workers=args.workers
    )
    seconds = time.perf_counter() - wall
    busy_s = machine_cpu_seconds() - machine
    own_s = own_cpu_seconds() - own
    earned = Purchase.objects.aggregate(n=Sum("earn_points"))["n"] or 0
    rate = result["purchases"] / seconds if seconds else 0.0
    per_million = 1_000_000 / rate if rate else None
    print(
        json.dumps(
            {
                "benchmark": "simulate",
                "loaded": {k: loaded[k] for k in ("members", "purchases", "returns")},
                "workers": args.workers,
                "purchases": result["purchases"],
                "members": result["members"],
                "seconds": round(seconds, 2),
                "purchases_per_s": round(rate),
                "seconds_per_million": round(per_million, 1) if per_million else None,
                "target": {
                    "seconds_per_million_max": TARGET_S_PER_MILLION,
                    "met": per_million is not None and per_million < TARGET_S_PER_MILLION,
                },
                "live_reproduces_the_ledger": result["live"]["points_earned"] == earned,
                "cpu": {"machine_busy_s": round(busy_s, 2), "parent_s": round(own_s, 2)},
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
