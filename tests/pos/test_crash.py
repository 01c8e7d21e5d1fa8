"""A process killed in the middle of a commit leaves the whole purchase or nothing."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from kopilka.core.models import IdempotencyRecord
from kopilka.core.sql import postgres_url
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.selectors import member_balance
from kopilka.pos.models import Purchase
from tests.conftest import Api, enroll, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_commit_killed_midway_leaves_nothing_and_the_retry_succeeds(api: Api) -> None:
    # given a member with 100 points
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert api.post("/purchases", seed, idempotency_key="seed").status_code == 201
    body = receipt(
        ("COF", "1", "300.00"), member_id=member.pk, receipt_number="crash", redeem_points=50
    )
    # when the process serving the commit is killed after writing redeem and earn, before COMMIT
    connection.close()  # let the child have the database to itself
    child = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("crash_commit.py")),
            api.key,
            "crash-key",
            json.dumps(body),
        ],
        env={
            **os.environ,
            "DATABASE_URL": postgres_url(connection.settings_dict),
            "ALLOWED_HOSTS": "testserver",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    # then nothing of it is in the database and the ledger is whole
    assert not Purchase.objects.filter(receipt_number="crash").exists()
    assert not IdempotencyRecord.objects.filter(key="crash-key").exists()
    assert member_balance(member.pk).available == 100
    assert ledger_problems() == []
    # and the till's retry with the same key goes through exactly once
    retry = api.post("/purchases", body, idempotency_key="crash-key")
    assert retry.status_code == 201, retry.content
    assert Purchase.objects.filter(receipt_number="crash").count() == 1
    assert member_balance(member.pk).available == 100 - 50 + 12
    assert ledger_problems() == []
