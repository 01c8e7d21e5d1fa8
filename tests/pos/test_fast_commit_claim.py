"""The one-statement commit claims the Idempotency-Key before it touches the member row, in the
same order as the locked path (`run_idempotent` claims, then `member_lock`): two copies of one
request, one on each path, wait for each other instead of deadlocking."""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from kopilka.ledger.checks import ledger_problems
from kopilka.pos import fast_commit, services
from kopilka.pos.models import Purchase
from tests.conftest import enroll, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def post(api_key: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
    try:
        response = Client().post(
            "/api/v1/purchases",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": key},
        )
        return response.status_code, response.json()
    finally:
        connections.close_all()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def one_statement_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'WITH claim AS%%'"
        )
        (waiting,) = cursor.fetchone()
    return bool(waiting)


def test_a_copy_on_each_path_waits_for_the_claim_instead_of_deadlocking(
    terminal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member with 100 points
    _principal, api_key = terminal
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert post(api_key, seed, "seed")[0] == 201
    body = receipt(
        ("TEA", "1", "500.00"), member_id=member.pk, receipt_number="t", redeem_points=50
    )
    # the first copy takes the locked path: it has claimed the key and stops before the member's
    # lock until the second copy's one statement waits on a lock
    real_one_statement, real_commit = fast_commit.commit_in_one_statement, services.purchase_commit
    released = threading.Event()

    def one_statement(**kwargs: Any) -> Any:
        if threading.current_thread().name == "locked":
            return None
        return real_one_statement(**kwargs)

    def paused_commit(**kwargs: Any) -> Any:
        if threading.current_thread().name == "locked":
            released.wait(10)
        return real_commit(**kwargs)

    monkeypatch.setattr(fast_commit, "commit_in_one_statement", one_statement)
    monkeypatch.setattr(services, "purchase_commit", paused_commit)
    answers: dict[str, tuple[int, Any]] = {}

    def run(name: str) -> threading.Thread:
        def work() -> None:
            answers[name] = post(api_key, body, "t")

        thread = threading.Thread(target=work, name=name)
        thread.start()
        return thread

    # when the second copy arrives while the first holds the key
    locked = run("locked")
    time.sleep(0.3)  # the first copy's claim is in
    one = run("one")
    waiting = wait_for(one_statement_waits_on_a_lock)
    released.set()
    locked.join(30)
    one.join(30)
    # then the one statement waited on the key (not the member row), the first copy booked the
    # purchase and the second got its answer, once, without a deadlock
    assert waiting, "the one statement never waited"
    assert answers["locked"][0] == 201, answers["locked"]
    assert answers["one"] == answers["locked"]
    assert Purchase.objects.filter(receipt_number="t").count() == 1
    assert ledger_problems() == []
