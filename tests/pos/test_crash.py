"""A process killed in the middle of a commit leaves the whole purchase or nothing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from kopilka.core.models import IdempotencyRecord
from kopilka.core.sql import postgres_url
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.pos.models import Purchase
from tests.conftest import Api, enroll, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]
CHILD = Path(__file__).with_name("crash_commit.py")


def member_with_100_points(api: Api) -> Member:
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert api.post("/purchases", seed, idempotency_key="seed").status_code == 201
    return member


def crash_body(member: Member) -> dict[str, Any]:
    return receipt(
        ("COF", "1", "300.00"), member_id=member.pk, receipt_number="crash", redeem_points=50
    )


def child_command(mode: str, api: Api, body: dict[str, Any]) -> dict[str, Any]:
    connection.close()  # let the child have the database to itself
    return {
        "args": [sys.executable, str(CHILD), mode, api.key, "crash-key", json.dumps(body)],
        "env": {
            **os.environ,
            "DATABASE_URL": postgres_url(connection.settings_dict),
            "ALLOWED_HOSTS": "testserver",
        },
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "text": True,
    }


def assert_retry_goes_through_once(api: Api, member: Member, body: dict[str, Any]) -> None:
    retry = api.post("/purchases", body, idempotency_key="crash-key")
    assert retry.status_code == 201, retry.content
    assert Purchase.objects.filter(receipt_number="crash").count() == 1
    assert member_balance(member.pk).available == 100 - 50 + 12
    assert ledger_problems() == []


def test_a_locked_commit_killed_midway_leaves_nothing_and_the_retry_succeeds(api: Api) -> None:
    # given a member with 100 points
    member = member_with_100_points(api)
    body = crash_body(member)
    # when the process serving the commit on the locked path is killed after writing redeem
    # and earn, before COMMIT
    child = subprocess.run(**child_command("locked", api, body), timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    # then nothing of it is in the database and the ledger is whole
    assert not Purchase.objects.filter(receipt_number="crash").exists()
    assert not IdempotencyRecord.objects.filter(key="crash-key").exists()
    assert member_balance(member.pk).available == 100
    assert ledger_problems() == []
    # and the till's retry with the same key goes through exactly once
    assert_retry_goes_through_once(api, member, body)


def backend_waiting_for_a_lock(admin: psycopg.Connection, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'WITH claim AS%' "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError("the commit never reached the member's lock")


def backend_gone(admin: psycopg.Connection, pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        if row is None or row[0] != "active":
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} is still running")


@pytest.mark.parametrize("server", ["finishes", "is_stopped"])
def test_a_one_statement_commit_killed_midway_is_whole_or_nothing(api: Api, server: str) -> None:
    # given a member with 100 points whose row another transaction holds
    member = member_with_100_points(api)
    body = crash_body(member)
    url = postgres_url(connection.settings_dict)
    with psycopg.connect(url, autocommit=True) as admin, psycopg.connect(url) as holder:
        holder.execute("SELECT id FROM members_member WHERE id = %s FOR UPDATE", [member.pk])
        # when the till's process sends the commit, which waits for that lock, and is killed
        child = subprocess.Popen(**child_command("one-statement", api, body))
        try:
            pid = backend_waiting_for_a_lock(admin)
        finally:
            child.kill()
            child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        # and PostgreSQL either finishes the statement or is stopped while it waits
        if server == "is_stopped":
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        holder.rollback()
        backend_gone(admin, pid)
    # then the purchase is there whole, or not at all
    written = Purchase.objects.filter(receipt_number="crash").count()
    if server == "is_stopped":
        assert written == 0
    assert written in (0, 1)
    assert IdempotencyRecord.objects.filter(key="crash-key").count() == written
    assert member_balance(member.pk).available == (62 if written else 100)
    assert ledger_problems() == []
    # and the till's retry with the same key gets exactly one purchase
    assert_retry_goes_through_once(api, member, body)
