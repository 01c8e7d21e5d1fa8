"""The real sender processes on PostgreSQL: killed mid-send and resumed, two at once, with
consent withdrawn after queueing and the caps; every message in the outbox once, none lost."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.sql import postgres_url
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message
from tests.conftest import enroll, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CRASH = Path(__file__).with_name("crash_send.py")


def env(var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": postgres_url(connection.settings_dict),
        "KOPILKA_VAR_DIR": str(var),
        "KOPILKA_QUIET_HOURS": "",  # the children run on the real clock, at any hour
        "DJANGO_SETTINGS_MODULE": "kopilka.settings",
    }


def sender(var: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "messages_send", *args],
        env=env(var), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def outbox_ids(var: Path) -> list[int]:
    path = var / "outbox" / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def queue(members: list[Any], per_member: int, purpose: str, trigger: str) -> None:
    now = clock.now()
    Message.objects.bulk_create(
        Message(
            member=member, channel="sms", purpose=purpose, trigger=trigger,
            dedup_key=f"{trigger}:{member.pk}:sms:{n}", text=f"Сообщение {n}",
            created_at=now, due_at=now,
        )
        for member in members
        for n in range(per_member)
    )  # fmt: skip


def switched(count: int, **changes: bool) -> list[Any]:
    members = [enroll(f"+7916{i:07d}") for i in range(count)]
    for member in members:
        consents_change(
            member_id=member.pk, changes=changes, source="test", actor=Actor.system("t")
        )
    return members


def leases_run_out() -> int:
    """What five minutes do to a dead worker's claims."""
    return Message.objects.filter(status="sending").update(lease_until=clock.now())


def test_a_worker_killed_after_sending_is_resumed_without_a_second_copy(tmp_path: Path) -> None:
    queue(switched(30, sms_service=True), 10, "service", "points_expiring")
    connection.close()
    crashed = subprocess.run(
        [sys.executable, str(CRASH), "100"], env=env(tmp_path), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    states = list(Message.objects.values_list("status", "reason").distinct())
    assert crashed.returncode == -signal.SIGKILL, (crashed.stderr, states)
    assert len(outbox_ids(tmp_path)) == 100, "the round's messages left before the kill"
    assert leases_run_out() == 100
    connection.close()
    resumed = sender(tmp_path, "--once")
    _out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    ids = outbox_ids(tmp_path)
    assert len(ids) == len(set(ids)) == 300, "each message once: the resumed ones were found"
    assert Message.objects.filter(status="sent").count() == 300
    assert set(ids) == set(Message.objects.values_list("pk", flat=True))


def test_two_workers_killed_and_restarted_send_each_message_once(tmp_path: Path) -> None:
    service = switched(20, sms_service=True)
    queue(service, 100, "service", "points_expiring")  # 2000
    adverts = [enroll(f"+7926{i:07d}") for i in range(30)]
    for member in adverts:
        consents_change(
            member_id=member.pk,
            changes={"sms_marketing": True},
            source="t",
            actor=Actor.system("t"),
        )
    queue(adverts, 3, "marketing", "campaign")  # 90: the cap lets 2 each go
    for member in adverts[:10]:  # withdrawn after queueing, before any send
        consents_change(
            member_id=member.pk,
            changes={"sms_marketing": False},
            source="t",
            actor=Actor.system("t"),
        )
    connection.close()

    first = [sender(tmp_path, "--batch", "20") for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(outbox_ids(tmp_path)) < 500 and time.monotonic() < deadline:
        time.sleep(0.02)
    for worker in first:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    killed_at = len(outbox_ids(tmp_path))
    assert 500 <= killed_at < 2000 + 40, killed_at
    leases_run_out()
    connection.close()

    second = [sender(tmp_path, "--once", "--batch", "50") for _ in range(2)]
    for worker in second:
        _out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err

    ids = outbox_ids(tmp_path)
    assert len(ids) == len(set(ids)), "no message twice"
    messages = Message.objects
    assert messages.filter(status="queued").count() == 0
    assert messages.filter(status="sending").count() == 0
    assert messages.filter(purpose="service", status="sent").count() == 2000
    withdrawn = messages.filter(member__in=adverts[:10])
    assert set(withdrawn.values_list("status", "reason")) == {("suppressed", "consent_withdrawn")}
    kept = messages.filter(member__in=adverts[10:])
    assert kept.filter(status="sent").count() == 40  # 2 each, the cap, across four processes
    assert kept.filter(reason="frequency_cap").count() == 20
    assert set(ids) == set(messages.filter(status="sent").values_list("pk", flat=True))
