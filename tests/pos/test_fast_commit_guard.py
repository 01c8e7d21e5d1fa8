"""The one-statement commit's guard (`pos.fast_commit`): a change of the member's state between
the read and the write, of `state_version` or of any one of `GUARD_COLUMNS` alone, makes the
statement refuse (KP002) and write nothing, and the locked path answers on the member of the
moment. The guard is a version check plus the member columns the engine reads; these tests
change one of them at a time, so a guard that forgets one is seen."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.db.models import F

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger import services as ledger
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import PointLot
from kopilka.ledger.selectors import member_balance
from kopilka.ledger.state import GUARD_COLUMNS
from kopilka.members.models import Member
from kopilka.pos import fast_commit, services
from kopilka.pos.models import Purchase
from tests.conftest import Api, enroll, postgres_only, receipt

pytestmark = [postgres_only, pytest.mark.django_db]
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _one_instant() -> Iterator[None]:
    with clock.frozen_at(START):
        yield


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """How each one-statement write ended ("ok" or its SQLSTATE), and the receipt numbers the
    locked path committed."""
    seen: dict[str, list[str]] = {"writes": [], "locked": []}
    real_cursor, real_commit = fast_commit.prepared_cursor, services.purchase_commit

    @contextmanager
    def watched() -> Iterator[Any]:
        try:
            with real_cursor() as cursor:
                yield cursor
        except DatabaseError as exc:
            seen["writes"].append(str(getattr(exc.__cause__, "sqlstate", None)))
            raise
        seen["writes"].append("ok")

    def counted(**kwargs: Any) -> Any:
        seen["locked"].append(kwargs["receipt"].receipt_number)
        return real_commit(**kwargs)

    monkeypatch.setattr(fast_commit, "prepared_cursor", watched)
    monkeypatch.setattr(services, "purchase_commit", counted)
    return seen


def member_with_100_points(api: Api) -> Member:
    member = enroll()
    seed = receipt(("SEED", "1", "2000.00"), member_id=member.pk, receipt_number="seed")
    assert api.post("/purchases", seed, idempotency_key="seed").status_code == 201
    return member


def between_read_and_write(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Run `change()` once, right after the one-statement path has read the member."""
    real_read = fast_commit._read

    def read_then_change(*args: Any) -> Any:
        result = real_read(*args)
        monkeypatch.setattr(fast_commit, "_read", real_read)
        change()
        return result

    monkeypatch.setattr(fast_commit, "_read", read_then_change)


# One change per guarded value, each made alone (a plain UPDATE, as an admin action or a fix by
# hand would make it: nothing else of the member moves), and the answer the locked path gives.
CHANGES: dict[str, tuple[Any, int]] = {
    "state_version": (F("state_version") + 1, 201),
    "status": (Member.Status.BLOCKED, 422),
    "created_at": (F("created_at") - timedelta(days=1), 201),
    "spend_total": (F("spend_total") + 1, 201),
    "tier_code": ("silver", 201),  # staff set a tier (a code this program does not have)
}


def test_every_guarded_value_has_a_change_below() -> None:
    assert set(CHANGES) == {"state_version", *GUARD_COLUMNS}


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_a_change_of_one_guarded_value_after_the_read_is_left_to_the_locked_path(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    outcomes: dict[str, list[str]],
    column: str,
) -> None:
    # given a member with 100 points, one of whose guarded values changes after the read
    member = member_with_100_points(api)
    value, status = CHANGES[column]
    between_read_and_write(
        monkeypatch, lambda: Member.objects.filter(pk=member.pk).update(**{column: value})
    )
    before = Member.objects.get(pk=member.pk)
    outcomes["writes"].clear()
    # when the till commits a redemption on what it read
    body = receipt(
        ("TEA", "1", "500.00"), member_id=member.pk, receipt_number="t", redeem_points=50
    )
    response = api.post("/purchases", body, idempotency_key="t")
    # then the statement refused and wrote nothing; the locked path answered
    assert outcomes["writes"] == ["KP002"]
    assert outcomes["locked"] == ["t"]
    assert response.status_code == status, response.content
    after = Member.objects.get(pk=member.pk)
    if status == 201:
        # once: 50 points redeemed, 22 earned on the 450 ₽ paid, the version moved by the
        # change (if it was the version) and by the one write
        assert Purchase.objects.filter(receipt_number="t").count() == 1
        assert response.json()["totals"]["redeem_points"] == 50
        assert (after.points_balance, member_balance(member.pk).available) == (72, 72)
        moved = 2 if column == "state_version" else 1
        assert after.state_version == before.state_version + moved
    else:
        assert response.json()["error"]["code"] == "member_inactive"
        assert not Purchase.objects.filter(receipt_number="t").exists()
        assert (after.points_balance, after.state_version) == (100, before.state_version)
    if column == "spend_total":  # the planted kopeck is no purchase's: take it out again
        Member.objects.filter(pk=member.pk).update(spend_total=F("spend_total") - 1)
    assert ledger_problems() == []


def test_a_staff_debit_after_the_read_is_seen_by_the_version_alone(
    api: Api, monkeypatch: pytest.MonkeyPatch, outcomes: dict[str, list[str]]
) -> None:
    # given a member with 100 points, from whom staff take 80 between the read and the write:
    # the debit moves the lots and the version, not the spend or any other state column
    member = member_with_100_points(api)
    staff = Actor.staff(get_user_model().objects.create_user("anna", password="x"))

    def debit() -> None:
        ledger.points_adjust(member_id=member.pk, points=-80, reason="error", actor=staff)

    between_read_and_write(monkeypatch, debit)
    outcomes["writes"].clear()
    # when the till redeems 50 of the 100 points it read
    body = receipt(
        ("TEA", "1", "500.00"), member_id=member.pk, receipt_number="t", redeem_points=50
    )
    response = api.post("/purchases", body, idempotency_key="t")
    # then the statement refused, and the locked path found only 20 points
    assert outcomes["writes"] == ["KP002"]
    assert outcomes["locked"] == ["t"]
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "insufficient_points"
    assert not Purchase.objects.filter(receipt_number="t").exists()
    assert PointLot.objects.get(member=member).remaining == 20
    assert member_balance(member.pk).available == 20
    assert ledger_problems() == []
