"""A rule limited per month, on both commit paths: used once a calendar month of the store, the
month of the receipt's own day (an offline receipt from last month is last month's)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kopilka.core import clock
from kopilka.ledger.models import RuleUse
from kopilka.pos import fast_commit
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set, receipt

pytestmark = pytest.mark.django_db
MONTHLY = {
    "code": "monthly",
    "name": "Бонус месяца",
    "then": {"bonus_points": 50},
    "limit": {"per_member_per_month": 1},
}
PATHS = [pytest.param("one_statement", marks=postgres_only), "locked"]
FEB_20 = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


def buy(api: Api, member_id: int, number: str, **extra: Any) -> int:
    body = receipt(("CAP", "1", "200.00"), member_id=member_id, receipt_number=number, **extra)
    response = api.post("/purchases", body, idempotency_key=number)
    assert response.status_code == 201, response.content
    earned: int = response.json()["totals"]["earn_points"]
    return earned


@pytest.fixture
def member_id(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> int:
    with clock.frozen_at(FEB_20):
        program_set(rules=[MONTHLY])
        member = enroll()
    if request.node.callspec.params["path"] == "locked":
        monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    return member.pk


@pytest.mark.parametrize("path", PATHS)
def test_a_monthly_rule_is_given_once_a_month(api: Api, member_id: int, path: str) -> None:
    # when the member buys twice in February and once in March
    earned = []
    for number, at in enumerate([FEB_20, FEB_20 + timedelta(days=3), FEB_20 + timedelta(days=9)]):
        with clock.frozen_at(at):
            earned.append(buy(api, member_id, str(number)))
    # then the bonus came with the first receipt of each month: 5 % of 200 ₽, plus 50
    assert earned == [60, 10, 60]
    assert RuleUse.objects.filter(member_id=member_id).count() == 2
    assert_ledger_clean()


@pytest.mark.parametrize("path", PATHS)
def test_an_offline_receipt_from_last_month_counts_last_months_uses(
    api: Api, member_id: int, path: str
) -> None:
    # given the bonus used on 1 March
    with clock.frozen_at(datetime(2026, 3, 1, 7, 0, tzinfo=UTC)):
        assert buy(api, member_id, "march") == 60
    # when a receipt rung up offline on 27 February arrives on 2 March
    with clock.frozen_at(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)):
        earned = buy(api, member_id, "feb", purchased_at="2026-02-27T12:00:00+03:00")
    # then it is February's first use: March's does not count against it
    assert earned == 60
    days = RuleUse.objects.filter(member_id=member_id).order_by("day").values_list("day", flat=True)
    assert list(days) == [date(2026, 2, 27), date(2026, 3, 1)]
    assert_ledger_clean()
