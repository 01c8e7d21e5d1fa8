"""The one-statement commit on PostgreSQL (`pos.fast_commit`) and the locked Python path write
the same rows and answer the same, and the one-statement path hands every case it does not own
to the locked path."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection, connections

from kopilka.core import clock
from kopilka.core.models import AuditEntry, IdempotencyRecord
from kopilka.core.sql import postgres_url
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import LotSpend, PointLot, Posting, RuleUse, Transfer
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.pos import fast_commit, services
from kopilka.pos.models import Purchase, PurchaseLine
from tests.conftest import Api, enroll, postgres_only, program_set, receipt

pytestmark = [postgres_only, pytest.mark.django_db]
START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# (days after START, receipt fields): earning, spending across lots of different expiry,
# "max", a receipt too small to earn, points still pending, card and phone references.
SCRIPT: list[tuple[int, dict[str, Any]]] = [
    (0, {"lines": [("COF", "2", "250.00"), ("CAKE", "1", "180.50")]}),
    (1, {"lines": [("COF", "1", "4000.00")]}),
    (3, {"lines": [("TEA", "3", "99.90")], "redeem_points": 80}),
    (3, {"lines": [("BUN", "1", "9.00")]}),
    (9, {"lines": [("COF", "1", "700.00"), ("TEA", "0.5", "120.00")], "redeem_points": "max"}),
    (10, {"lines": [("COF", "1", "1200.00")], "ref": "card"}),
    (12, {"lines": [("CAKE", "2", "300.00")], "redeem_points": "max", "ref": "phone"}),
    (15, {"lines": [("COF", "1", "150.00")], "redeem_points": 10}),
]


# A limited rule, a bonus with a threshold and a discount, so that the rows both paths write
# include rule uses, discounts and bonus shares.
BONUS_RULES = [
    {
        "code": "coffee-twice",
        "name": "Кофе ×2",
        "when": {"categories": ["coffee"]},
        "then": {"earn_multiplier": "2"},
        "limit": {"per_member_per_day": 1},
    },
    {
        "code": "big-receipt",
        "name": "Большой чек",
        "when": {"min_receipt": "1000.00"},
        "then": {"bonus_points": 25},
    },
    {
        "code": "cake-day",
        "name": "Торт −10 %",
        "when": {"skus": ["CAKE"]},
        "then": {"discount_percent": "10"},
    },
]


@pytest.fixture
def function_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each one-statement write ended: "ok" or the SQLSTATE it raised."""
    calls: list[str] = []
    real = fast_commit.prepared_cursor

    @contextmanager
    def watched() -> Iterator[Any]:
        try:
            with real() as cursor:
                yield cursor
        except DatabaseError as exc:
            calls.append(str(getattr(exc.__cause__, "sqlstate", None)))
            raise
        calls.append("ok")

    monkeypatch.setattr(fast_commit, "prepared_cursor", watched)
    return calls


@pytest.fixture
def locked_commits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Receipt numbers committed by the locked Python path."""
    numbers: list[str] = []
    real = services.purchase_commit

    def counted(**kwargs: Any) -> Any:
        numbers.append(kwargs["receipt"].receipt_number)
        return real(**kwargs)

    monkeypatch.setattr(services, "purchase_commit", counted)
    return numbers


def run_script(api: Api, member: Member, tag: str) -> list[tuple[int, dict[str, Any]]]:
    card = member.cards.get().number
    answers = []
    for number, (day, fields) in enumerate(SCRIPT, start=1):
        fields = dict(fields)
        ref = fields.pop("ref", "id")
        reference = {"id": {"member_id": member.pk}, "card": {"card_number": card}}.get(
            ref, {"phone": member.phone}
        )
        body = receipt(
            *fields.pop("lines"), receipt_number=f"{tag}-{number}", **reference, **fields
        )
        with clock.frozen_at(START + timedelta(days=day, minutes=number)):
            response = api.post("/purchases", body, idempotency_key=f"{tag}-{number}")
            retry = api.post("/purchases", body, idempotency_key=f"{tag}-{number}")
        answers.append((response.status_code, response.json()))
        assert (retry.status_code, retry.json()) == answers[-1], "a retry gets the same answer"
    return answers


def written(member: Member) -> dict[str, Any]:
    """Everything the commits wrote for a member, with ids replaced by their order."""
    purchases = list(
        Purchase.objects.filter(member=member).select_related("program_version").order_by("id")
    )
    purchase_no = {p.pk: n for n, p in enumerate(purchases)}
    transfers = list(Transfer.objects.filter(member=member).order_by("id"))
    transfer_no = {t.pk: n for n, t in enumerate(transfers)}
    lots = list(PointLot.objects.filter(member=member).order_by("id"))
    lot_no = {lot.pk: n for n, lot in enumerate(lots)}
    member.refresh_from_db()
    return {
        "balance": member.points_balance,
        "member_id_on_lines": {
            x.member_id == member.pk for x in PurchaseLine.objects.filter(purchase__member=member)
        },
        "state": (member.spend_total, member.state_version),
        "purchases": [
            (
                p.created_at,
                p.purchased_at,
                p.amount,
                p.discount,
                p.redeem_points,
                p.payable,
                p.earn_points,
                p.program_version.document if p.program_version else None,
                p.reasons,
            )
            for p in purchases
        ],
        "lines": [
            (
                purchase_no[x.purchase_id],
                x.position,
                x.sku,
                x.name,
                x.category,
                x.quantity,
                x.price,
                x.amount,
                x.discount,
                x.redeem_points,
                x.earn_points,
                x.rules,
                x.reasons,
            )
            for x in PurchaseLine.objects.filter(purchase__member=member).order_by("id")
        ],
        "transfers": [
            (t.kind, purchase_no[t.purchase_id], t.points, t.created_at, t.reason, t.actor_label)
            for t in transfers
        ],
        "postings": [
            (transfer_no[x.transfer_id], x.account, x.amount)
            for x in Posting.objects.filter(member_id=member.pk).order_by("id")
        ],
        "lots": [
            (
                transfer_no[lot.transfer_id],
                lot.points,
                lot.remaining,
                lot.earned_at,
                lot.available_at,
                lot.expires_at,
            )
            for lot in lots
        ],
        "rule_uses": [
            (u.rule, u.day, purchase_no[u.purchase_id])
            for u in RuleUse.objects.filter(member_id=member.pk).order_by("id")
        ],
        "spends": [
            (lot_no[s.lot_id], transfer_no[s.transfer_id], s.points)
            for s in LotSpend.objects.filter(member_id=member.pk).order_by("id")
        ],
        "audit": [
            (
                a.actor_label,
                a.action,
                a.target_type,
                purchase_no[a.target_id],
                {k: v for k, v in a.data.items() if k != "program_version"},
            )
            for a in AuditEntry.objects.filter(
                member_id=member.pk, action="purchase.commit"
            ).order_by("id")
        ],
    }


def same_answer(answer: dict[str, Any]) -> dict[str, Any]:
    ids = {"id", "receipt_number", "member_id", "program_version"}
    return {k: v for k, v in answer.items() if k not in ids}


@pytest.mark.parametrize("pending_days", [0, 2])
def test_both_paths_write_the_same_rows_and_answers(
    api: Api, monkeypatch: pytest.MonkeyPatch, pending_days: int
) -> None:
    with clock.frozen_at(START - timedelta(days=1)):
        program_set(pending_days=pending_days, expiry_days=10, rules=BONUS_RULES)
    one, locked = enroll("+79160000001"), enroll("+79160000002")
    calls = {"one_statement": 0}
    real = fast_commit.commit_in_one_statement

    def counted(**kwargs: Any) -> Any:
        body = real(**kwargs)
        calls["one_statement"] += body is not None
        return body

    # when the same receipts are committed for one member on each path
    monkeypatch.setattr(fast_commit, "commit_in_one_statement", counted)
    answers_one = run_script(api, one, "one")
    monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    answers_locked = run_script(api, locked, "locked")
    # then the one-statement path took every receipt and both wrote and said the same
    assert calls["one_statement"] == len(SCRIPT)
    assert [(s, same_answer(a)) for s, a in answers_one] == [
        (s, same_answer(a)) for s, a in answers_locked
    ]
    assert [s for s, _a in answers_one] == [201] * len(SCRIPT)
    assert written(one) == written(locked)
    assert written(one)["spends"], "the script spends points"
    assert written(one)["rule_uses"], "the script uses limited rules"
    assert IdempotencyRecord.objects.filter(key__startswith="one-").count() == len(SCRIPT)
    assert ledger_problems() == []


# Rules that change mid-script and a refund lot, so that spending by expiry, by id and with or
# without pending lots give different rows: (step, day, details).
CHANGING_SCRIPT: list[tuple[str, int, Any]] = [
    ("rules", 0, {"pending_days": 0, "expiry_days": 60}),
    ("buy", 0, {"lines": [("A", "1", "2000.00")]}),  # lot A: 100, expires day 61
    ("buy", 1, {"lines": [("B", "1", "1000.00")]}),  # lot B: 50, expires day 62
    ("buy", 2, {"lines": [("C", "1", "400.00")], "redeem_points": 100}),  # all of A; lot C: 15
    ("rules", 3, {"expiry_days": 10}),
    # the refund lot keeps A's expiry (day 61) but is newer than B (day 62)
    ("return", 3, {"sku": "C"}),
    ("buy", 4, {"lines": [("D", "1", "1000.00")]}),  # lot D: 50, the newest, expires first (15)
    # by expiry: D, the refund, B; by id it would be B, the refund, D
    ("buy", 5, {"lines": [("E", "1", "300.00")], "redeem_points": 60}),
    ("rules", 6, {"pending_days": 3}),
    ("buy", 6, {"lines": [("F", "1", "2000.00")]}),  # lot F: 100 pending until day 9, expires 17
    # F expires before the refund and B (after E's 12), but is pending: not spent
    ("buy", 7, {"lines": [("G", "1", "1000.00")], "redeem_points": 60}),
    ("buy", 8, {"lines": [("H", "1", "500.00")], "redeem_points": "max", "ref": "card"}),
    ("buy", 10, {"lines": [("I", "1", "500.00")], "redeem_points": "max", "ref": "phone"}),
]


def run_changing_script(api: Api, member: Member, tag: str) -> list[tuple[int, dict[str, Any]]]:
    card = member.cards.get().number
    purchases: dict[str, int] = {}
    answers = []
    document: dict[str, Any] = {}
    for number, (step, day, details) in enumerate(CHANGING_SCRIPT, start=1):
        with clock.frozen_at(START + timedelta(days=day, minutes=number)):
            if step == "rules":
                document.update(details)
                program_set(**document)
                continue
            if step == "return":
                body: dict[str, Any] = {"lines": [{"sku": details["sku"], "quantity": "1"}]}
                path = f"/purchases/{purchases[details['sku']]}/returns"
            else:
                fields = dict(details)
                ref = fields.pop("ref", "id")
                reference = {"id": {"member_id": member.pk}, "card": {"card_number": card}}.get(
                    ref, {"phone": member.phone}
                )
                lines = fields.pop("lines")
                body = receipt(*lines, receipt_number=f"{tag}-{number}", **reference, **fields)
                path = "/purchases"
            response = api.post(path, body, idempotency_key=f"{tag}-{number}")
            assert response.status_code == 201, (step, day, response.content)
            if step == "buy":
                purchases[lines[0][0]] = response.json()["id"]
            answer = {k: v for k, v in response.json().items() if k != "purchase_id"}
            answers.append((response.status_code, answer))
    return answers


def spends_of(member: Member, sku: str) -> dict[tuple[str, str], int]:
    """Points the purchase of `sku` redeemed, by the lot they came from: (how it was made, sku)."""
    spends = LotSpend.objects.filter(
        member_id=member.pk,
        transfer__kind=Transfer.Kind.REDEEM,
        transfer__purchase__lines__sku=sku,
    ).select_related("lot__transfer")
    origin = {
        lot.pk: (lot.transfer.kind, lot.transfer.purchase.lines.get().sku)
        for lot in PointLot.objects.filter(member=member).select_related("transfer__purchase")
    }
    return {origin[s.lot_id]: s.points for s in spends}


def test_both_paths_agree_when_rules_change_and_refunds_come_back(
    api: Api, function_calls: list[str], locked_commits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, locked = enroll("+79160000001"), enroll("+79160000002")
    buys = sum(step == "buy" for step, _day, _details in CHANGING_SCRIPT)
    # when the script runs for one member with the one-statement commit
    answers_one = run_changing_script(api, one, "one")
    # then the function wrote every purchase, and the locked path wrote none
    assert function_calls == ["ok"] * buys
    assert not [n for n in locked_commits if n.startswith("one-")]
    # and it spent by expiry, never a pending lot: the refund lot before an older lot
    assert spends_of(one, "C") == {("earn", "A"): 100}
    assert spends_of(one, "E") == {("earn", "D"): 50, ("return", "C"): 10}
    assert spends_of(one, "G") == {("earn", "E"): 12, ("return", "C"): 48}
    assert spends_of(one, "I") == {("earn", "F"): 100, ("earn", "G"): 47}
    # when the same script runs for another member on the locked path
    monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    answers_locked = run_changing_script(api, locked, "locked")
    assert len([n for n in locked_commits if n.startswith("locked-")]) == buys
    # then both wrote the same rows and gave the same answers
    assert [(s, same_answer(a)) for s, a in answers_one] == [
        (s, same_answer(a)) for s, a in answers_locked
    ]
    assert written(one) == written(locked)
    assert ledger_problems() == []


@pytest.fixture
def one_instant() -> Iterator[None]:
    """Every request at START: another till's new points are then not "pending" at the time of
    this commit, so a changed balance is seen by the check of available points, not by the
    pending check (which alone catches it when the clock moves)."""
    with clock.frozen_at(START):
        yield


@pytest.mark.parametrize(
    ("pending_days", "other_redeem", "redeem", "status"),
    [
        (0, 30, 50, 201),  # the other till spent 30 of 100: 50 are still there
        (0, 100, 50, 422),  # the other till spent all 100: 50 are not there
        (3, 0, 50, 201),  # the other till earned pending points: only "pending" changed
    ],
)
@pytest.mark.usefixtures("one_instant")
def test_a_redemption_elsewhere_after_the_read_is_left_to_the_locked_path(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    function_calls: list[str],
    locked_commits: list[str],
    pending_days: int,
    other_redeem: int,
    redeem: int,
    status: int,
) -> None:
    # given a member with 100 available points
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert api.post("/purchases", seed, idempotency_key="seed").status_code == 201
    program_set(pending_days=pending_days)
    real_read = fast_commit._read
    changed: dict[str, int] = {}

    def read_then_another_till_redeems(ref: services.MemberRef, *args: Any) -> Any:
        result = real_read(ref, *args)
        assert result[2] is not None and (result[2].available, result[2].pending) == (100, 0)
        monkeypatch.setattr(fast_commit, "_read", real_read)
        other = receipt(
            ("COF", "1", "400.00"),
            member_id=member.pk,
            receipt_number="other",
            redeem_points=other_redeem,
        )
        assert api.post("/purchases", other, idempotency_key="other").status_code == 201
        balance = member_balance(member.pk)
        changed.update(available=balance.available, pending=balance.pending)
        return result

    monkeypatch.setattr(fast_commit, "_read", read_then_another_till_redeems)
    body = receipt(
        ("TEA", "1", "500.00"), member_id=member.pk, receipt_number="t", redeem_points=redeem
    )
    # when the till commits on the 100 points it read
    response = api.post("/purchases", body, idempotency_key="t")
    # then (after a change of exactly one of the two figures) ...
    earned = (400 - other_redeem) // 20  # 5 % of what the other till's customer paid
    if pending_days:
        assert changed == {"available": 100, "pending": earned}
    else:
        assert changed == {"available": 100 - other_redeem + earned, "pending": 0}
    # ... the function saw it and wrote nothing, and the locked path answered on the points
    # of the moment
    assert function_calls == ["ok", "ok", "KP002"]
    assert locked_commits == ["t"]
    assert response.status_code == status, response.content
    balance = member_balance(member.pk)
    if status == 201:
        assert response.json()["totals"]["redeem_points"] == redeem
        assert response.json()["balance_after"] == {
            "available": balance.available,
            "pending": balance.pending,
        }
    else:
        assert response.json()["error"]["code"] == "insufficient_points"
        assert not Purchase.objects.filter(receipt_number="t").exists()
        assert (balance.available, balance.pending) == (changed["available"], 0)
    assert ledger_problems() == []


def test_a_receipt_without_a_member_takes_one_statement(api: Api) -> None:
    body = receipt(("COF", "1", "250.00"), receipt_number="anon")
    response = api.post("/purchases", body, idempotency_key="anon")
    assert response.status_code == 201, response.content
    purchase = Purchase.objects.get(receipt_number="anon")
    assert (purchase.pk, purchase.member_id, purchase.earn_points) == (
        response.json()["id"],
        None,
        0,
    )
    assert not Transfer.objects.filter(purchase=purchase).exists()
    assert AuditEntry.objects.filter(action="purchase.commit", target_id=purchase.pk).exists()


def test_a_balance_changed_after_the_read_is_left_to_the_locked_path(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member with 100 points, who earns 12 more between the read and the commit
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert api.post("/purchases", seed, idempotency_key="seed").status_code == 201
    real_read = fast_commit._read

    def read_then_someone_buys(ref: services.MemberRef, *args: Any) -> Any:
        result = real_read(ref, *args)
        # another till's commit for the same member lands in between
        monkeypatch.setattr(fast_commit, "_read", real_read)
        other = receipt(("COF", "1", "240.00"), member_id=member.pk, receipt_number="other")
        assert api.post("/purchases", other, idempotency_key="other").status_code == 201
        return result

    monkeypatch.setattr(fast_commit, "_read", read_then_someone_buys)
    body = receipt(
        ("TEA", "1", "500.00"), member_id=member.pk, receipt_number="t", redeem_points="max"
    )
    # when the till commits "max" on the balance it read
    response = api.post("/purchases", body, idempotency_key="t")
    # then the locked path decides on the balance of the moment: 112 points, 150 allowed
    assert response.status_code == 201, response.content
    assert response.json()["totals"]["redeem_points"] == 112
    assert response.json()["balance_after"] == {"available": 0 + 19, "pending": 0}
    assert ledger_problems() == []


def test_a_replay_and_a_conflict_are_answered_by_the_locked_path(api: Api) -> None:
    member = enroll()
    body = receipt(("COF", "1", "250.00"), member_id=member.pk, receipt_number="r1")
    first = api.post("/purchases", body, idempotency_key="k1")
    again = api.post("/purchases", body, idempotency_key="k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    other = api.post("/purchases", {**body, "receipt_number": "r2"}, idempotency_key="k1")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")
    reused = api.post("/purchases", body, idempotency_key="k2")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "duplicate_receipt")
    assert Purchase.objects.count() == 1
    assert ledger_problems() == []


def test_the_commit_statements_are_prepared_once_per_connection(api: Api) -> None:
    # given a till committing more receipts than psycopg's prepare threshold (5)
    member = enroll()
    for number in range(7):
        body = receipt(("COF", "1", "250.00"), member_id=member.pk, receipt_number=f"p{number}")
        assert api.post("/purchases", body, idempotency_key=f"p{number}").status_code == 201
    # then PostgreSQL holds both statements of the commit as prepared, and parses them no more
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE '_pg3_%%'")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("nextval(pg_get_serial_sequence" in sql for sql in prepared), prepared
    assert any(sql.startswith("WITH claim AS") for sql in prepared), prepared


@pytest.mark.django_db(transaction=True)
def test_the_read_is_the_health_check_and_a_dropped_connection_is_reopened(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = connections["default"]
    member = enroll()

    def commit(number: int) -> int:
        close_old_connections()  # what request_started does: the next statement checks the line
        body = receipt(("COF", "1", "250.00"), member_id=member.pk, receipt_number=f"h{number}")
        return api.post("/purchases", body, idempotency_key=f"h{number}").status_code

    assert commit(1) == 201
    checks: list[bool] = []
    real_check = db.is_usable
    monkeypatch.setattr(db, "is_usable", lambda: checks.append(real_check()) or checks[-1])
    # a healthy connection: the read itself is the check, no SELECT 1 before it
    assert commit(2) == 201
    assert checks == []
    # PostgreSQL drops the connection between two requests (a restart, a network cut)
    backend = db.connection.info.backend_pid
    with psycopg.connect(postgres_url(db.settings_dict), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    # the failed read finds the connection broken, reconnects and the purchase goes through
    assert commit(3) == 201
    assert checks == [False]
    assert db.connection.info.backend_pid != backend
    assert Purchase.objects.filter(receipt_number__startswith="h").count() == 3
    assert ledger_problems() == []
