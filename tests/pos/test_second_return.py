"""A second partial return of one purchase takes its points back from its own new refund,
not from the refund of the first return (that lot is the member's by then, like any other)."""

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kopilka.core import clock
from kopilka.ledger.models import PointLot, Transfer
from tests.conftest import Api, assert_ledger_clean, enroll, receipt

pytestmark = pytest.mark.django_db
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def on_day(day: int) -> AbstractContextManager[None]:
    return clock.frozen_at(START + timedelta(days=day))


def post(api: Api, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    response = api.post(path, body, idempotency_key=key)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_second_return_takes_back_from_its_own_refund_first(api: Api) -> None:
    member = enroll()
    buy: dict[str, Any] = {"member_id": member.pk}
    # given 100 points, a purchase of two items that spends them and earns 45, and another
    # purchase that spends those 45
    with on_day(0):
        post(api, "/purchases", receipt(("SEED", "1", "2000.00"), **buy, receipt_number="S"), "s")
    with on_day(1):
        purchase = post(
            api,
            "/purchases",
            receipt(("TWO", "2", "500.00"), **buy, receipt_number="P", redeem_points=100),
            "p",
        )
    with on_day(2):
        post(
            api,
            "/purchases",
            receipt(("ONE", "1", "1000.00"), **buy, receipt_number="Q", redeem_points=45),
            "q",
        )
    returns = f"/purchases/{purchase['id']}/returns"
    one = {"lines": [{"sku": "TWO", "quantity": "1"}]}
    # when the two items come back one at a time: 50 refunded and 22, then 23, taken back
    with on_day(3):
        first = post(api, returns, one, "r1")
    with on_day(4):
        second = post(api, returns, one, "r2")
    assert [(r["redeem_points_refunded"], r["earn_points_reversed"]) for r in (first, second)] == [
        (50, 22),
        (50, 23),
    ]
    # then each return took its points from its own refund: the first refund keeps 28
    refunds = PointLot.objects.filter(member=member, transfer__kind=Transfer.Kind.RETURN).order_by(
        "id"
    )
    assert [(lot.points, lot.remaining) for lot in refunds] == [(50, 28), (50, 27)]
    assert_ledger_clean()
