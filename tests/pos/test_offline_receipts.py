"""An offline receipt is priced at its own time (`purchased_at`), not at the time it reaches the
server, on both commit paths: the rules' hours, the version in force and the rule's day."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kopilka.core import clock
from kopilka.ledger.models import RuleUse
from kopilka.pos import fast_commit
from kopilka.pos.models import Purchase
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set, receipt

pytestmark = pytest.mark.django_db
# Saturday 5 December 2026 in Moscow (UTC+3): rung up at 09:00, sent on Monday at 15:00
RUNG_UP = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
SENT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MORNING = {
    "code": "morning",
    "name": "Утро ×2",
    "when": {"time_from": "07:00", "time_to": "11:00"},
    "then": {"earn_multiplier": "2"},
    "limit": {"per_member_per_day": 1},
}


@pytest.mark.parametrize("path", [pytest.param("one_statement", marks=postgres_only), "locked"])
def test_an_offline_receipt_is_priced_by_its_own_morning_and_version(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # given the morning rule in force when the receipt was rung up, and a version without it
    # (10 % earned) in force since the day after
    with clock.frozen_at(RUNG_UP - timedelta(days=1)):
        program_set(rules=[MORNING])
        member = enroll()
    with clock.frozen_at(RUNG_UP + timedelta(days=1)):
        program_set(earn_percent="10")
    if path == "locked":
        monkeypatch.setattr(fast_commit, "commit_in_one_statement", lambda **kwargs: None)
    # when the till sends it on Monday afternoon
    body = receipt(
        ("CAP", "1", "240.00"),
        member_id=member.pk,
        receipt_number="off",
        purchased_at=RUNG_UP.isoformat(),
    )
    with clock.frozen_at(SENT):
        response = api.post("/purchases", body, idempotency_key="off")
    # then it earned as on Saturday morning: 5 % × 2 of 240 ₽, under Saturday's version
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["totals"]["earn_points"], answer["lines"][0]["rules"]) == (24, ["morning"])
    purchase = Purchase.objects.get(pk=answer["id"])
    assert purchase.program_version is not None
    assert purchase.program_version.document["rules"][0]["code"] == "morning"
    # and the rule was used on Saturday, the receipt's own day
    assert list(RuleUse.objects.filter(member=member).values_list("day", flat=True)) == [
        date(2026, 12, 5)
    ]
    assert_ledger_clean()
