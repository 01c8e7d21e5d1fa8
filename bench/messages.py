"""Messages per second to the file outbox: `messages_send_due` as `manage.py messages_send` runs it.

    .venv/bin/python bench/messages.py [--messages 5000] [--workers 1]

Creates its own PostgreSQL database (a name with "bench" in it), migrates it, enrols one member
per message with SMS advertising consent (so every message passes consent, quiet hours, the cap
and the dedup key, and each takes the member's row lock), queues one advertising SMS each, then
times --workers sender processes sending all of them to a fresh `outbox/sms.jsonl` (each line
flushed and fsynced). Prints JSON: messages, seconds, messages per second, the target (≥ 500),
lines in the outbox and whether each message id appears exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb import database_create
from timing import step

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopilka_msgbench"
TARGET_PER_S = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="kopilka-msgbench-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "PYTHONPATH": str(REPO / "src"),
        "KOPILKA_VAR_DIR": str(var_dir),
        "KOPILKA_QUIET_HOURS": "",  # the bench runs at any hour
        "DJANGO_SETTINGS_MODULE": "kopilka.settings",
    }
    os.environ.update(env)
    report: dict[str, object] = {"messages": args.messages, "workers": args.workers}
    database_create(args.database_url, drop=True, force=False)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
    sys.path.insert(0, str(REPO / "src"))
    import django

    django.setup()
    from kopilka.core import clock
    from kopilka.members.models import Consent, Member
    from kopilka.messaging.models import Message

    now = clock.now()
    with step("setup", report):
        members = Member.objects.bulk_create(
            Member(phone=f"+7916{i:07d}", created_at=now) for i in range(args.messages)
        )
        Consent.objects.bulk_create(
            Consent(
                member=m,
                purpose="marketing",
                channel="sms",
                given=True,
                recorded_at=now,
                source="bench",
                text_version="bench",
            )
            for m in members
        )
        Message.objects.bulk_create(
            Message(
                member=m,
                channel="sms",
                purpose="marketing",
                trigger="campaign",
                dedup_key=f"campaign:{m.pk}:sms:bench",
                text="Кофе дня за полцены до пятницы — только для участников Копилки",
                created_at=now,
                due_at=now,
            )
            for m in members
        )
    from django.db import connection

    connection.close()
    started = time.perf_counter()
    with step("send", report):
        workers = [
            subprocess.Popen(
                [*manage, "messages_send", "--once"], env=env, stdout=subprocess.DEVNULL
            )
            for _ in range(args.workers)
        ]
        for worker in workers:
            worker.wait()
    seconds = time.perf_counter() - started
    lines = (var_dir / "outbox" / "sms.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    rate = args.messages / seconds
    report.update(
        seconds=round(seconds, 3),
        messages_per_s=round(rate, 1),
        target_per_s=TARGET_PER_S,
        met=rate >= TARGET_PER_S,
        outbox_lines=len(lines),
        each_once=len(ids) == len(set(ids)) == args.messages,
        sent=Message.objects.filter(status="sent").count(),
    )
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if report["each_once"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
