"""A once-a-day rule counts the store's day, on both commit paths: two receipts on one morning
in Vladivostok fall on two UTC days, and the next morning there is still the same UTC day."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.models import RuleUse
from kopilka.pos import fast_commit
from kopilka.pos.models import Store
from kopilka.pos.terminals import terminal_create
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set, receipt

pytestmark = pytest.mark.django_db
DAILY = {
    "code": "daily",
    "name": "Бонус дня",
    "then": {"bonus_points": 50},
    "limit": {"per_member_per_day": 1},
}
# Vladivostok is UTC+10: (UTC time, the local day)
RECEIPTS = [
    (datetime(2026, 12, 7, 21, 30, tzinfo=UTC), date(2026, 12, 8)),  # Tuesday 07:30 there
    (datetime(2026, 12, 7, 23, 0, tzinfo=UTC), date(2026, 12, 8)),  # Tuesday 09:00
    (datetime(2026, 12, 8, 22, 0, tzinfo=UTC), date(2026, 12, 9)),  # Wednesday 08:00
]


@pytest.mark.parametrize("path", [pytest.param("one_statement", marks=postgres_only), "locked"])
def test_a_once_a_day_rule_counts_the_stores_day_not_utcs(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # given a daily bonus and a store in Vladivostok
    with clock.frozen_at(RECEIPTS[0][0]):
        program_set(rules=[DAILY])
        member = enroll()
    _terminal, key = terminal_create(store_code="vlad", actor=Actor.system("test"))
    Store.objects.filter(code="vlad").update(time_zone="Asia/Vladivostok")
    till = Api(client=api.client, key=key)
    if path == "locked":
        monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    earned = []
    # when the member buys twice on one local morning and once the next
    for number, (at, _day) in enumerate(RECEIPTS, start=1):
        body: dict[str, Any] = receipt(
            ("CAP", "1", "200.00"), store="vlad", member_id=member.pk, receipt_number=str(number)
        )
        with clock.frozen_at(at):
            response = till.post("/purchases", body, idempotency_key=str(number))
        assert response.status_code == 201, response.content
        earned.append(response.json()["totals"]["earn_points"])
    # then the bonus came once each local day: 5 % of 200 ₽, plus 50 on the first of each day
    assert earned == [60, 10, 60]
    assert list(
        RuleUse.objects.filter(member=member).order_by("id").values_list("day", flat=True)
    ) == [
        RECEIPTS[0][1],
        RECEIPTS[2][1],
    ]
    assert_ledger_clean()
