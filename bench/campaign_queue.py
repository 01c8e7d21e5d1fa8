"""Queueing a campaign for a million members: `manage.py campaign_send --audience all`.

    .venv/bin/python bench/campaign_queue.py [--members 1000000]

Creates its own PostgreSQL database (a name with "bench" in it), migrates it, writes --members
active members by COPY (a tenth of them with points, half of those expiring within 30 days),
then times `campaign_send --key bench --audience all --channel sms --text "…{name}…{balance}…"`
(the campaign, its audience split into target and a 10 % control group, every message rendered
and written), and runs it again to show the second run queues nothing. Prints JSON: members,
seconds of each run, the target (< 60 s) and the counts the command printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchdb import database_create

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_campaignbench"
TARGET_S = 60.0
TEXT = "{name}, у вас {balance} баллов, {expiring_points} сгорят {expiring_date}. Кофейня"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "PYTHONPATH": str(REPO / "src"),
        "DJANGO_SETTINGS_MODULE": "kopilka.settings",
    }
    os.environ.update(env)
    database_create(args.database_url, drop=True, force=False)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
    sys.path.insert(0, str(REPO / "src"))
    import django

    django.setup()
    from kopilka.core import clock
    from kopilka.core.sql import copy_rows
    from kopilka.ledger.models import PointLot
    from kopilka.members.models import Member

    now = clock.now()
    started = time.perf_counter()
    member_fields = (
        "phone", "email", "name", "status", "created_at", "points_balance", "spend_total",
        "state_version", "tier_code", "referral_code",
    )  # fmt: skip
    copy_rows(
        Member,
        member_fields,
        (
            (f"+7{9000000000 + i}", "", f"Гость {i}", "active", now, 0, 0, 0, "", f"B{i:09d}")
            for i in range(args.members)
        ),
    )
    first = Member.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    lot_fields = (
        "member_id", "transfer_id", "points", "remaining", "earned_at", "available_at",
        "expires_at",
    )  # fmt: skip
    from kopilka.ledger.models import Transfer

    transfer = Transfer.objects.create(
        kind="adjust", member_id=first, points=0, created_at=now, actor_label="bench"
    )
    copy_rows(
        PointLot,
        lot_fields,
        (
            (first + i, transfer.pk, 300, 300, now, now, now + timedelta(days=10 + 400 * (i % 2)))
            for i in range(0, args.members, 10)
        ),
    )
    setup_s = time.perf_counter() - started
    from django.db import connection

    connection.close()
    report: dict[str, object] = {"members": args.members, "setup_s": round(setup_s, 1)}
    command = [
        *manage, "campaign_send", "--key", "bench", "--audience", "all", "--channel", "sms",
        "--text", TEXT, "--control-share", "0.1",
    ]  # fmt: skip
    for run in ("first", "second"):
        began = time.perf_counter()
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        report[run] = {
            "seconds": round(time.perf_counter() - began, 2),
            "printed": json.loads(done.stdout.strip().splitlines()[-1]),
        }
        print(f"{run}: {report[run]}", file=sys.stderr)
    first_s = report["first"]["seconds"]  # type: ignore[index]
    report.update(target_s=TARGET_S, met=first_s < TARGET_S)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
