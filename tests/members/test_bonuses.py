"""Event bonuses, each given exactly once: welcome at enrolment (in its transaction), a completed
profile, a birthday a year (29 February included), a referral once the friend's first purchase
has stood; every job run twice gives nothing more."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.models import BonusGrant, Transfer
from kopilka.ledger.selectors import member_balance, transfer_description
from kopilka.members.bonuses import birthday_in, bonus_jobs
from kopilka.members.models import Member
from kopilka.members.services import ReferrerNotFound
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set
from tests.pos.test_concurrency import in_parallel

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BONUSES = {
    "welcome": {"points": 100},
    "birthday": {"points": 200, "days_before": 3, "days_after": 7},
    "profile_completed": {"points": 50, "expiry_days": 30},
    "referral": {"referrer_points": 200, "friend_points": 100, "after_days": 14},
}
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def program() -> Any:
    with clock.frozen_at(NOW):
        program_set(bonuses=BONUSES)
        yield


def bonuses_of(member: Member) -> list[tuple[str, str, int]]:
    return sorted(
        (g.kind, g.key, g.transfer.points)
        for g in BonusGrant.objects.filter(member=member).select_related("transfer")
    )


def test_welcome_and_a_complete_profile_at_enrolment() -> None:
    member = enroll(email="anna@example.ru", birth_date=date(1990, 5, 17))
    assert bonuses_of(member) == [("profile_completed", "", 50), ("welcome", "", 100)]
    assert member_balance(member.pk).available == 150
    welcome = Transfer.objects.get(member=member, reason="welcome")
    with translation.override("ru"):
        assert transfer_description(welcome) == "100 приветственных баллов."
    with translation.override("en"):
        assert transfer_description(welcome) == "100 welcome points."
    # the profile bonus lasts its own 30 days, through the 31st day's end
    lot = Transfer.objects.get(member=member, reason="profile_completed").lots.get()
    assert lot.expires_at == datetime(2026, 4, 2, 0, 0, tzinfo=clock.business_tz())
    assert_ledger_clean()


def test_a_failed_enrolment_gives_no_welcome() -> None:
    enroll()
    with pytest.raises(Exception):  # noqa: B017 - the same phone again
        enroll()
    assert BonusGrant.objects.count() == 1


def test_a_profile_completed_later_is_caught_by_the_daily_job_once() -> None:
    member = enroll()
    assert bonuses_of(member) == [("welcome", "", 100)]
    Member.objects.filter(pk=member.pk).update(email="a@example.ru", birth_date=date(1990, 1, 1))
    with clock.frozen_at(NOW):
        assert bonus_jobs(day=NOW.date(), actor=ACTOR).profile_completed == 1
        assert bonus_jobs(day=NOW.date(), actor=ACTOR).profile_completed == 0
    assert bonuses_of(member) == [("profile_completed", "", 50), ("welcome", "", 100)]


def test_the_birthday_bonus_comes_days_before_once_a_year_and_lasts_the_window() -> None:
    member = enroll(birth_date=date(1990, 3, 10))
    with clock.frozen_at(NOW):
        # 2 March: eight days before, outside the window (3 days before to 7 after)
        assert bonus_jobs(day=date(2026, 3, 6), actor=ACTOR).birthday == 0
        assert bonus_jobs(day=date(2026, 3, 7), actor=ACTOR).birthday == 1
        for day in (date(2026, 3, 7), date(2026, 3, 10), date(2026, 3, 17)):
            assert bonus_jobs(day=day, actor=ACTOR).birthday == 0  # once a year
    assert ("birthday", "2026", 200) in bonuses_of(member)
    lot = Transfer.objects.get(member=member, reason="birthday").lots.get()
    assert lot.expires_at == datetime(2026, 3, 18, tzinfo=clock.business_tz())
    with clock.frozen_at(datetime(2027, 3, 8, 9, tzinfo=UTC)):
        assert bonus_jobs(day=date(2027, 3, 8), actor=ACTOR).birthday == 1  # next year again
    assert_ledger_clean()


def test_a_29_february_birthday_is_the_28th_in_a_common_year() -> None:
    assert birthday_in(2027, date(2000, 2, 29)) == date(2027, 2, 28)
    assert birthday_in(2028, date(2000, 2, 29)) == date(2028, 2, 29)
    member = enroll(birth_date=date(2000, 2, 29))
    with clock.frozen_at(datetime(2027, 2, 25, 9, tzinfo=UTC)):
        assert bonus_jobs(day=date(2027, 2, 25), actor=ACTOR).birthday == 1
    assert [k for k in bonuses_of(member) if k[0] == "birthday"] == [("birthday", "2027", 200)]


def test_daily_jobs_twice_for_a_day_gives_nothing_more(capsys: Any) -> None:
    enroll(birth_date=date(1990, 3, 3))
    with clock.frozen_at(NOW):
        call_command("daily_jobs", "--date", "2026-03-02")
        first = capsys.readouterr().out
        call_command("daily_jobs", "--date", "2026-03-02")
        second = capsys.readouterr().out
    assert '"birthday": 1' in first and '"birthday": 0' in second
    assert BonusGrant.objects.filter(kind="birthday").count() == 1


def buy(api: Api, member: Member, number: str, price: str = "500.00") -> dict[str, Any]:
    line = {"sku": "CAP", "name": "Капучино", "category": "coffee", "quantity": "1", "price": price}
    body = {"store": "central", "lines": [line], "member_id": member.pk, "receipt_number": number}
    answer = api.post("/purchases", body, idempotency_key=number)
    assert answer.status_code == 201, answer.content
    result: dict[str, Any] = answer.json()
    return result


def test_a_referral_pays_both_once_the_friends_first_purchase_stood(api: Api) -> None:
    with clock.frozen_at(NOW):
        anna = enroll()
        answer = api.post(
            "/members",
            {
                "phone": "+79161234500",
                "referrer_code": anna.referral_code.lower(),
                "consents": {"personal_data": True},
            },
        )
        assert answer.status_code == 201, answer.content
        friend = Member.objects.get(phone="+79161234500")
        assert friend.referred_by_id == anna.pk
        assert answer.json()["referral_code"] == friend.referral_code
        buy(api, friend, "f-1")
        # before the 14 days have passed nothing is given
        assert bonus_jobs(day=date(2026, 3, 10), actor=ACTOR).referral == 0
    with clock.frozen_at(NOW + timedelta(days=15)):
        assert bonus_jobs(day=date(2026, 3, 16), actor=ACTOR).referral == 1
        assert bonus_jobs(day=date(2026, 3, 16), actor=ACTOR).referral == 0
    assert ("friend", "", 100) in bonuses_of(friend)
    assert ("referrer", str(friend.pk), 200) in bonuses_of(anna)
    assert_ledger_clean()


def test_a_referral_whose_first_purchase_came_back_pays_nothing(api: Api) -> None:
    with clock.frozen_at(NOW):
        anna = enroll()
        friend = enroll("+79161234501", referrer_code=anna.referral_code)
        purchase = buy(api, friend, "f-2")
        back = api.post(
            f"/purchases/{purchase['id']}/returns",
            {"lines": [{"sku": "CAP", "quantity": "1"}]},
            idempotency_key="back",
        )
        assert back.status_code == 201, back.content
    with clock.frozen_at(NOW + timedelta(days=20)):
        assert bonus_jobs(day=date(2026, 3, 22), actor=ACTOR).referral == 0
    assert not BonusGrant.objects.filter(kind__in=["friend", "referrer"]).exists()


def test_an_unknown_referral_code_is_refused_and_nothing_is_enrolled(api: Api) -> None:
    with pytest.raises(ReferrerNotFound):
        enroll(referrer_code="NOSUCH99")
    answer = api.post(
        "/members",
        {"phone": "+79161234502", "referrer_code": "NOSUCH99", "consents": {"personal_data": True}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "referrer_not_found"
    assert not Member.objects.filter(phone="+79161234502").exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_the_daily_job_at_once_give_each_bonus_once() -> None:
    with clock.frozen_at(NOW):
        program_set(bonuses=BONUSES)
        members = [
            enroll(f"+7916123460{n}", birth_date=date(1990, 3, 4), email=f"m{n}@example.ru")
            for n in range(5)
        ]
        Member.objects.update(birth_date=date(1990, 3, 4))

        def run(_index: int) -> int:
            with clock.frozen_at(NOW):
                return bonus_jobs(day=date(2026, 3, 2), actor=ACTOR).birthday

        given = in_parallel(4, run)
    assert sum(given) == 5
    for member in members:
        assert [k for k in bonuses_of(member) if k[0] == "birthday"] == [("birthday", "2026", 200)]
    assert_ledger_clean()
