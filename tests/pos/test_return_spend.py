"""A return gives back the cumulative spend the purchase added: what was paid after the
discount, not the amount before it, so the accumulating discount's level follows."""

import pytest

from kopilka.members.models import Member
from tests.conftest import Api, assert_ledger_clean, enroll, program_set, receipt

pytestmark = pytest.mark.django_db
LEVELS = [{"from_spend": "0.00", "percent": "3"}, {"from_spend": "1000.00", "percent": "5"}]


def test_a_return_takes_off_the_spend_after_the_discount(api: Api) -> None:
    # given an accumulating discount and a member who spent 970 ₽ (1,000 ₽ less 3 %), then
    # 485 ₽ more (two 250 ₽ cups less 3 %, still below the 5 % level)
    program_set(mode="accumulating_discount", discount_levels=LEVELS)
    member = enroll()
    first = receipt(("BAG", "1", "1000.00"), member_id=member.pk, receipt_number="1")
    assert api.post("/purchases", first, idempotency_key="1").status_code == 201
    second = receipt(("CUP", "2", "250.00"), member_id=member.pk, receipt_number="2")
    bought = api.post("/purchases", second, idempotency_key="2").json()
    assert bought["totals"]["discount"] == "15.00"
    assert Member.objects.get(pk=member.pk).spend_total == 97_000 + 48_500
    # when one of the two cups comes back (242.50 ₽ paid for it)
    back = {"lines": [{"sku": "CUP", "quantity": "1"}]}
    response = api.post(f"/purchases/{bought['id']}/returns", back, idempotency_key="r")
    assert response.status_code == 201, response.content
    # then the spend drops by what was paid for it, and the rest of the cup stays counted
    assert Member.objects.get(pk=member.pk).spend_total == 97_000 + 48_500 - 24_250
    assert_ledger_clean()
