"""One outcome per Idempotency-Key under a race on a real PostgreSQL: three copies of each
request arrive at once while other purchases drain and refill the member's points; every copy
of a key gets the same answer, whether that answer is a purchase or a refusal."""

import json
import random
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.selectors import member_balance
from kopilka.pos.models import Purchase
from tests.conftest import enroll, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.slow]

KEYS = 200
COPIES = 3
REFILLS = 40


def post(key: str, body: dict, idempotency_key: str) -> tuple[int, str]:
    try:
        response = Client().post(
            "/api/v1/purchases",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
        )
        # a replay comes from jsonb, which orders an object's keys its own way
        return response.status_code, json.dumps(response.json(), sort_keys=True)
    finally:
        connections.close_all()


def test_every_copy_of_a_key_gets_the_first_outcome_while_points_come_and_go(terminal) -> None:
    # given a member with 150 points
    _principal, api_key = terminal
    member = enroll()
    seed = receipt(("SEED", "1", "3000.00"), member_id=member.pk, receipt_number="seed")
    assert post(api_key, seed, "seed")[0] == 201
    assert member_balance(member.pk).available == 150
    # when 200 keys, each paying 30 points of a 100 ₽ receipt, are each sent 3 times at once,
    # among 40 purchases of 2,000 ₽ that each add 100 points
    tasks: list[tuple[str, dict]] = []
    for i in range(KEYS):
        drain = receipt(
            ("COF", "1", "100.00"), member_id=member.pk, receipt_number=f"d{i}", redeem_points=30
        )
        tasks += [(f"drain-{i}", drain)] * COPIES
        if i % (KEYS // REFILLS) == 0:
            refill = receipt(("BAG", "1", "2000.00"), member_id=member.pk, receipt_number=f"f{i}")
            tasks.append((f"refill-{i}", refill))
    random.Random(7).shuffle(chunks := [tasks[i : i + 4] for i in range(0, len(tasks), 4)])
    ordered = [task for chunk in chunks for task in chunk]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda task: (task[0], post(api_key, task[1], task[0])), ordered))
    # then every copy of a key got exactly the same status and body
    answers: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for key, answer in results:
        answers[key].add(answer)
    split = {key: sorted(s for s, _ in got) for key, got in answers.items() if len(got) > 1}
    assert split == {}, f"{len(split)} keys got different answers: {list(split.items())[:5]}"
    outcomes = Counter(next(iter(got))[0] for key, got in answers.items() if key[0] == "d")
    # both outcomes happened: the race really ran on a balance that ran out and came back
    assert outcomes[201] > 0 and outcomes[422] > 0, outcomes
    assert set(outcomes) <= {201, 422}
    refusals = {
        json.loads(body)["error"]["code"]
        for key, got in answers.items()
        for status, body in got
        if status == 422
    }
    assert refusals == {"insufficient_points"}
    # and the ledger holds: one purchase per successful key, points exactly as the answers say
    assert Purchase.objects.count() == 1 + REFILLS + outcomes[201]
    expected = 150 + REFILLS * 100 + outcomes[201] * (-30 + 3)
    assert member_balance(member.pk).available == expected
    assert ledger_problems() == []
