"""The messages the day's events cause, queued by `manage.py daily_jobs`: once per occasion, on
the channels that would reach the member, in Russian by default, and sent by the real sender."""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.services import points_adjust
from kopilka.members.models import Member
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message, MessageTemplate, TelegramLink
from kopilka.messaging.services import messages_send_due
from kopilka.messaging.triggers import trigger_messages
from kopilka.rewards.models import Reward
from kopilka.rewards.services import reward_exchange
from tests.conftest import Api, enroll, points_move, program_set

pytestmark = pytest.mark.django_db
# The job runs at 00:10 on 1 December (Moscow) for 30 November: the digest's day.
RUN = datetime(2026, 11, 30, 21, 10, tzinfo=UTC)
DAY = date(2026, 11, 30)
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def at_run(settings: Any, tmp_path: Path) -> Any:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox" / "email"
    settings.KOPILKA_QUIET_HOURS = ""
    with clock.frozen_at(RUN):
        yield


def switches(member: Member, **changes: bool) -> None:
    consents_change(member_id=member.pk, changes=changes, source="test", actor=ACTOR)


def queued(trigger: str) -> list[Message]:
    return list(Message.objects.filter(trigger=trigger).order_by("member_id", "channel"))


def grant(member: Member, points: int, *, at: datetime, expiry_days: int = 365) -> None:
    program_set(expiry_days=expiry_days, pending_days=0)
    points_move(member.pk, earn=points, at=at)


def test_points_expiring_are_announced_once_per_expiry_date_on_the_channels_switched_on() -> None:
    anna = enroll("+79161234567", email="anna@example.ru")
    boris = enroll("+79161234568", name="Борис")  # no email: SMS only, and SMS service is off
    vera = enroll("+79161234569", name="Вера", email="vera@example.ru")
    switches(vera, sms_service=True, email_service=False)
    for member in (anna, boris, vera):
        grant(member, 120, at=RUN - timedelta(days=355), expiry_days=365)  # ends in ~10 days
    grant(anna, 40, at=RUN - timedelta(days=10), expiry_days=365)  # not soon: not counted

    first = trigger_messages(day=DAY)
    assert first.queued["points_expiring"] == 2
    email, sms = queued("points_expiring")
    assert (email.member_id, email.channel, email.purpose) == (anna.pk, "email", "service")
    assert email.subject.startswith("Баллы сгорают: 120 можно потратить до ")
    assert "Из 160 баллов на вашей карте 120 можно потратить до" in email.text
    assert "Здравствуйте, Анна!" in email.text
    assert (sms.member_id, sms.channel) == (vera.pk, "sms")
    assert sms.text.startswith("Баллы 120 сгорят после ")
    assert sms.dedup_key == f"points_expiring:{vera.pk}:sms:{email.dedup_key.rsplit(':', 1)[1]}"

    assert trigger_messages(day=DAY).queued == {}, "the same expiry date is announced once"
    with clock.frozen_at(RUN + timedelta(days=1)):
        assert trigger_messages(day=DAY + timedelta(days=1)).queued == {}


def test_the_admins_template_replaces_the_default_text() -> None:
    anna = enroll("+79161234567", email="anna@example.ru")
    grant(anna, 75, at=RUN - timedelta(days=360))
    MessageTemplate.objects.create(
        name="points_expiring", channel="email", language="ru",
        subject="{name}, баллы сгорают", text="Осталось {expiring_points} до {expiring_date}.",
    )  # fmt: skip
    trigger_messages(day=DAY)
    (message,) = queued("points_expiring")
    assert message.subject == "Анна, баллы сгорают"
    assert message.text.startswith("Осталось 75 до ")


def test_birthday_greetings_and_the_digest_need_the_marketing_consent() -> None:
    program_set(earn_percent="5", redeem_max_percent="30")
    anna = enroll("+79161234567", email="anna@example.ru", birth_date=date(1990, 12, 1))
    boris = enroll("+79161234568", email="boris@example.ru", birth_date=date(1985, 12, 1))
    switches(anna, email_marketing=True)
    points_move(anna.pk, earn=260, at=RUN - timedelta(days=20))
    Reward.objects.create(
        code="cap", name="Капучино", kind=Reward.Kind.FREE_PRODUCT, sku="CAP",
        points_price=250, cost=3000, created_at=RUN,
    )  # fmt: skip

    run = trigger_messages(day=DAY)
    assert run.queued["birthday"] == 1 and run.queued["digest"] == 1
    (greeting,) = queued("birthday")
    assert greeting.member_id == anna.pk and greeting.purpose == "marketing"
    assert greeting.subject == "С днём рождения, Анна!"
    assert greeting.dedup_key == f"birthday:{anna.pk}:email:2026"
    (digest,) = queued("digest")
    assert digest.dedup_key == f"digest:{anna.pk}:email:2026-12"
    lines = digest.text.splitlines()
    assert lines[0] == "Здравствуйте, Анна!"
    benefits = lines[2:5]
    assert any("5" in line for line in benefits), benefits  # the advantages come first
    assert "Ваш баланс: 260 баллов." in digest.text
    assert "На них уже можно взять: Капучино." in digest.text
    assert "\n\n\n" not in digest.text
    assert not Message.objects.filter(member=boris).exists()
    assert trigger_messages(day=DAY).queued == {}


def test_each_member_reads_their_messages_in_their_own_language() -> None:
    program_set(earn_percent="5", redeem_max_percent="30")
    anna = enroll("+79161234567", email="anna@example.ru", birth_date=date(1990, 12, 1))
    ann = enroll(
        "+79161234568", name="Ann", email="ann@example.com", birth_date=date(1991, 12, 1),
        language="en",
    )  # fmt: skip
    for member in (anna, ann):
        switches(member, email_marketing=True)
        points_move(member.pk, earn=260, at=RUN - timedelta(days=20))
    trigger_messages(day=DAY)
    russian, english = queued("birthday")
    assert (russian.language, english.language) == ("ru", "en")
    assert russian.subject == "С днём рождения, Анна!" and english.subject == "Happy birthday, Ann!"
    ru_digest, en_digest = queued("digest")
    assert "Ваш баланс: 260 баллов." in ru_digest.text
    assert "Your balance: 260 points." in en_digest.text, en_digest.text
    assert en_digest.text.splitlines()[0] == "Hello, Ann!"


def test_the_digest_waits_for_its_day(settings: Any) -> None:
    anna = enroll("+79161234567", email="anna@example.ru")
    switches(anna, email_marketing=True)
    settings.KOPILKA_DIGEST_DAY = 2
    trigger_messages(day=DAY)
    assert queued("digest") == []


def test_the_days_points_are_summed_in_one_message(api: Api) -> None:
    anna = enroll("+79161234567", email="anna@example.ru")
    day_start = RUN - timedelta(hours=20)
    points_move(anna.pk, earn=30, at=day_start)
    points_move(anna.pk, earn=45, at=day_start + timedelta(hours=5))
    points_move(anna.pk, earn=99, at=RUN - timedelta(days=2))  # another day
    trigger_messages(day=DAY)
    (message,) = queued("points_earned")
    assert message.subject == "Начислено баллов за покупки: 75"
    assert "За покупки 30.11.2026 начислено баллов: 75." in message.text


def test_a_reward_within_reach_and_a_voucher_about_to_lapse(settings: Any) -> None:
    from django.contrib.auth import get_user_model

    staff_actor = Actor.staff(get_user_model().objects.create(username="boss"))
    anna = enroll("+79161234567", email="anna@example.ru")
    cheap = Reward.objects.create(
        code="cookie", name="Печенье", kind=Reward.Kind.FREE_PRODUCT, sku="COOK",
        points_price=100, cost=500, created_at=RUN, valid_days=3,
    )  # fmt: skip
    Reward.objects.create(
        code="cap", name="Капучино", kind=Reward.Kind.FREE_PRODUCT, sku="CAP",
        points_price=250, cost=3000, created_at=RUN,
    )  # fmt: skip
    with clock.frozen_at(RUN - timedelta(hours=3)):
        points_adjust(member_id=anna.pk, points=400, reason="test", actor=staff_actor)
        voucher = reward_exchange(member_id=anna.pk, code=cheap.code, actor=staff_actor)
    trigger_messages(day=DAY)
    (affordable,) = queued("reward_affordable")
    assert "уже можно взять: Капучино (250 баллов)" in affordable.text  # the priciest within reach
    (lapsing,) = queued("voucher_expiring")
    assert f"Ваш купон {voucher.code} на «Печенье» действует до " in lapsing.text
    assert lapsing.dedup_key == f"voucher_expiring:{anna.pk}:email:{voucher.code}"


def test_a_telegram_chat_gets_the_members_messages(settings: Any) -> None:
    anna = enroll("+79161234567")
    TelegramLink.objects.create(member=anna, chat_id=555, linked_at=RUN)
    grant(anna, 50, at=RUN - timedelta(days=360))
    trigger_messages(day=DAY)
    (message,) = queued("points_expiring")
    assert message.channel == "telegram"
    assert messages_send_due().sent == 1
    outbox = Path(settings.KOPILKA_VAR_DIR) / "outbox" / "telegram.jsonl"
    (line,) = [json.loads(row) for row in outbox.read_text().splitlines()]
    assert line["to"] == "555" and line["text"] == message.text


def test_daily_jobs_expires_then_warns_and_sends_through_the_real_outbox(settings: Any) -> None:
    anna = enroll("+79161234567", email="anna@example.ru")
    grant(anna, 80, at=RUN - timedelta(days=340))
    out = StringIO()
    call_command("daily_jobs", "--date", DAY.isoformat(), stdout=out)
    report = json.loads(out.getvalue())
    assert report["messages"] == {"day": "2026-11-30", "queued": {"points_expiring": 1}}
    assert "expired" in report and "bonuses" in report and "tiers" in report
    assert messages_send_due().sent == 1
    (mail_file,) = (Path(settings.EMAIL_FILE_PATH)).iterdir()
    body = mail_file.read_text()
    assert "anna@example.ru" in body
    call_command("daily_jobs", "--date", DAY.isoformat(), stdout=StringIO())
    assert Message.objects.count() == 1


def test_a_tier_reached_and_a_tier_at_risk_are_told_once(api: Api) -> None:
    from kopilka.members.tiers import tier_review
    from tests.members.test_tiers import TIERS, buy

    anna = enroll("+79161234567", email="anna@example.ru")
    with clock.frozen_at(RUN - timedelta(hours=5)):
        program_set(tiers=TIERS, tier_window_days=30, tier_grace_days=14)
        buy(api, "1200.00", anna, "R-1")
    trigger_messages(day=DAY)
    (reached,) = queued("tier_reached")
    assert reached.subject == "Вы достигли уровня «Серебро»"
    assert trigger_messages(day=DAY).queued.get("tier_reached") is None

    later = RUN + timedelta(days=40)  # the purchase left the 30-day window
    with clock.frozen_at(later):
        tier_review(day=DAY + timedelta(days=40), actor=ACTOR)
        trigger_messages(day=DAY + timedelta(days=40))
        (risk,) = queued("tier_at_risk")
        assert (
            "Чтобы сохранить уровень «Серебро», совершите покупки ещё на 1\u00a0000 ₽" in risk.text
        )
        trigger_messages(day=DAY + timedelta(days=41))
    assert len(queued("tier_at_risk")) == 1


def test_a_message_per_purchase_is_written_in_the_purchases_transaction(
    api: Api, settings: Any
) -> None:
    settings.KOPILKA_POINTS_EARNED_MESSAGE = "purchase"
    program_set(earn_percent="5", pending_days=0)
    anna = enroll("+79161234567", email="anna@example.ru")
    body = {
        "store": "central", "member_id": anna.pk, "receipt_number": "R-1",
        "lines": [{"sku": "CAP", "name": "Капучино", "category": "coffee", "quantity": "2",
                   "price": "250.00"}],
    }  # fmt: skip
    first = api.post("/purchases", body, idempotency_key="k-1")
    assert first.status_code == 201, first.content
    purchase_id = first.json()["id"]
    (message,) = queued("points_earned")
    assert message.dedup_key == f"points_earned:{anna.pk}:email:purchase-{purchase_id}"
    assert message.subject == "Начислено баллов за покупки: 25"
    assert api.post("/purchases", body, idempotency_key="k-1").status_code == 201  # a retry
    refused = api.post("/purchases", {**body, "receipt_number": "R-2", "redeem_points": 10**6},
                       idempotency_key="k-2")  # fmt: skip
    assert refused.status_code == 422
    assert len(queued("points_earned")) == 1
    assert trigger_messages(day=DAY).queued.get("points_earned") is None  # not again at night
