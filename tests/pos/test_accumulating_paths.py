"""The accumulating discount on both commit paths: each reads the member's cumulative spend
(`spend_total`) and prices the next receipt at the level it reached."""

import pytest

from kopilka.members.models import Member
from kopilka.pos import fast_commit
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set, receipt

pytestmark = pytest.mark.django_db
LEVELS = [{"from_spend": "0.00", "percent": "3"}, {"from_spend": "1000.00", "percent": "5"}]


@pytest.mark.parametrize("path", [pytest.param("one_statement", marks=postgres_only), "locked"])
def test_the_next_receipt_gets_the_level_the_spend_reached(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    program_set(mode="accumulating_discount", discount_levels=LEVELS)
    member = enroll()
    if path == "locked":
        monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    discounts = []
    # when the member spends 1,940 ₽ (2,000 ₽ less 3 %) and then buys for 100 ₽
    for number, price in enumerate(["2000.00", "100.00"]):
        body = receipt(("BAG", "1", price), member_id=member.pk, receipt_number=str(number))
        response = api.post("/purchases", body, idempotency_key=str(number))
        assert response.status_code == 201, response.content
        discounts.append(response.json()["totals"]["discount"])
    # then the second receipt is at 5 %: the first took the spend past 1,000 ₽
    assert discounts == ["60.00", "5.00"]
    assert Member.objects.get(pk=member.pk).spend_total == 194_000 + 9_500
    assert_ledger_clean()
