"""Parallel requests on a real PostgreSQL: no point lost or created twice."""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger import services as ledger
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import member_balance, member_points
from kopilka.pos.models import Purchase
from tests.conftest import enroll, points_move, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]
SYSTEM = Actor.system("test")


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads released at the same moment, each on its own connection."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        try:
            barrier.wait()
            return work(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def post(key: str, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
    response = Client().post(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
    )
    return response.status_code, response.json()


def test_64_parallel_redemptions_never_overdraw(terminal) -> None:
    # given a member with 1,000 points
    _principal, key = terminal
    member = enroll()
    status, _body = post(
        key,
        "/purchases",
        receipt(("SEED", "1", "20000.00"), member_id=member.pk, receipt_number="seed"),
        "seed",
    )
    assert status == 201 and member_balance(member.pk).available == 1000
    # when 64 tills each try to pay 30 points of a 100 ₽ receipt at once (1,920 asked)
    results = in_parallel(
        64,
        lambda i: post(
            key,
            "/purchases",
            receipt(
                ("COF", "1", "100.00"),
                member_id=member.pk,
                receipt_number=f"r{i}",
                redeem_points=30,
            ),
            f"k{i}",
        ),
    )
    # then, as each success costs 30 and earns 3 (5 % of the 70 ₽ paid), exactly 36 succeed
    # (the 36th starts from 1000 - 35 * 27 = 55 points, the 37th would start from 28),
    # the rest are refused cleanly, and every point is accounted for
    statuses = Counter(status for status, _ in results)
    refusals = Counter(body["error"]["code"] for status, body in results if status != 201)
    assert statuses == {201: 36, 422: 28}, statuses
    assert refusals == {"insufficient_points": 28}
    assert member_balance(member.pk).available == 1000 - 36 * 27
    assert Purchase.objects.count() == 37
    assert ledger_problems() == []


def test_parallel_retries_with_one_key_create_one_purchase(terminal) -> None:
    _principal, key = terminal
    member = enroll()
    body = receipt(("COF", "1", "500.00"), member_id=member.pk, receipt_number="once")
    results = in_parallel(16, lambda _i: post(key, "/purchases", body, "one-key"))
    assert {status for status, _ in results} == {201}
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert Purchase.objects.count() == 1
    assert Transfer.objects.count() == 1
    assert member_balance(member.pk).available == 25
    assert ledger_problems() == []


def test_one_receipt_number_from_parallel_tills_is_recorded_once(terminal) -> None:
    _principal, key = terminal
    member = enroll()
    body = receipt(("COF", "1", "500.00"), member_id=member.pk, receipt_number="same-number")
    results = in_parallel(8, lambda i: post(key, "/purchases", body, f"different-key-{i}"))
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 7}
    assert {b["error"]["code"] for s, b in results if s == 409} == {"duplicate_receipt"}
    assert Purchase.objects.count() == 1
    assert ledger_problems() == []


def test_parallel_returns_never_refund_twice(terminal) -> None:
    _principal, key = terminal
    member = enroll()
    status, bought = post(
        key,
        "/purchases",
        receipt(("COF", "4", "250.00"), member_id=member.pk, receipt_number="ret"),
        "buy",
    )
    assert status == 201
    results = in_parallel(
        12,
        lambda i: post(
            key,
            f"/purchases/{bought['id']}/returns",
            {"lines": [{"sku": "COF", "quantity": "1"}]},
            f"ret{i}",
        ),
    )
    assert Counter(status for status, _ in results) == {201: 4, 422: 8}
    assert member_balance(member.pk).available == 0
    assert ledger_problems() == []
    assert connection.vendor == "postgresql"


def test_a_balance_read_under_the_lock_sees_the_commit_it_waited_for() -> None:
    """READ COMMITTED: a statement that waits for a row lock keeps its old snapshot for other
    tables, so the balance must be read by a statement issued after the lock is granted."""
    member = enroll()
    points_move(member.pk, earn=100)
    holding, release = threading.Event(), threading.Event()

    def spend_everything_and_wait() -> None:
        try:
            with transaction.atomic():
                points_move(member.pk, spend=100)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def read_balance() -> int:
        holding.wait(10)
        try:
            with transaction.atomic():
                ledger.member_lock(member.pk)
                return member_points(member.pk, clock.now())[0]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        spender = pool.submit(spend_everything_and_wait)
        reader = pool.submit(read_balance)
        holding.wait(10)
        time.sleep(0.5)  # the reader is now blocked on the member's row lock
        release.set()
        spender.result()
        assert reader.result() == 0
