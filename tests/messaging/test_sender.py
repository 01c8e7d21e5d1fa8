"""The outbox and its sender: consent checked when sending, quiet hours, caps, deduplication,
two workers, a worker that died mid-send, and the real file outboxes (SMS lines, email files)."""

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message
from kopilka.messaging.rules import quiet_hours_parse, quiet_until
from kopilka.messaging.services import LEASE, message_queue, messages_send_due
from kopilka.messaging.sms import sms_length
from kopilka.messaging.unsubscribe import unsubscribe_read, unsubscribe_token, unsubscribe_url
from tests.conftest import enroll, postgres_only

NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a Monday
MSK = clock.business_tz()


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox" / "email"
    settings.KOPILKA_QUIET_HOURS = "21:00-09:00"
    return tmp_path / "outbox"


def sms_lines(outbox: Path) -> list[dict[str, Any]]:
    path = outbox / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def consenting(phone: str = "+79161234567", **extra: Any) -> Any:
    member = enroll(phone, email=extra.pop("email", "anna@example.ru"), **extra)
    consents_change(
        member_id=member.pk,
        changes={"sms_marketing": True, "email_marketing": True},
        source="test",
        actor=Actor.system("test"),
    )
    return member


def advert(member: Any, occasion: str, channel: str = "sms", **extra: Any) -> Message | None:
    return message_queue(
        member_id=member.pk,
        channel=channel,
        purpose="marketing",
        trigger="campaign",
        occasion=occasion,
        text=extra.pop("text", "Кофе дня за полцены до пятницы"),
        subject=extra.pop("subject", "Новости кофейни"),
        **extra,
    )


# --- pure parts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("Hello", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("{" * 80, "gsm7", 1),  # the extension table takes two septets each
        ("{" * 81, "gsm7", 2),
        ("б" * 70, "ucs2", 1),
        ("б" * 71, "ucs2", 2),
        ("б" * 134, "ucs2", 2),
        ("б" * 135, "ucs2", 3),
        ("Hi 😀", "ucs2", 1),
        ("", "gsm7", 0),
    ],
)
def test_an_sms_counts_its_parts_as_operators_bill_them(
    text: str, encoding: str, parts: int
) -> None:
    length = sms_length(text)
    assert (length.encoding, length.parts) == (encoding, parts)


def test_quiet_hours_end_at_their_local_end_whether_or_not_they_cross_midnight() -> None:
    night = quiet_hours_parse("21:00-09:00")
    at = datetime(2026, 12, 7, 22, 30, tzinfo=MSK)
    assert quiet_until(at, night, MSK) == datetime(2026, 12, 8, 9, 0, tzinfo=MSK)
    assert quiet_until(at.replace(hour=7), night, MSK) == datetime(2026, 12, 7, 9, 0, tzinfo=MSK)
    assert quiet_until(at.replace(hour=9), night, MSK) is None  # the end is exclusive
    assert quiet_until(at.replace(hour=20, minute=59), night, MSK) is None
    lunch = quiet_hours_parse("13:00-14:00")
    assert quiet_until(at.replace(hour=13, minute=30), lunch, MSK) == at.replace(hour=14, minute=0)
    assert quiet_hours_parse("") is None


# --- the sender ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_advert_goes_out_with_the_consent_it_relied_on(outbox: Path) -> None:
    member = consenting()
    with clock.frozen_at(NOON):
        message = advert(member, "dec-1")
        assert message is not None
        report = messages_send_due()
    assert report.sent == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.parts == 2 and message.address == member.phone
    assert message.consent is not None and message.consent.given
    assert message.consent.channel == "sms" and message.consent_text_version == "2026-11"
    (line,) = sms_lines(outbox)
    assert line["id"] == message.pk and line["to"] == "+79161234567"
    link = f"Отписка: {unsubscribe_url(member.pk, 'sms')}"  # advertising SMS end with it
    assert line["text"] == f"Кофе дня за полцены до пятницы {link}" and line["parts"] == 2
    assert (line["purpose"], line["trigger"], line["member_id"]) == (
        "marketing",
        "campaign",
        member.pk,
    )
    assert line["created_at"].startswith("2026-12-07T09:00")


@pytest.mark.django_db
def test_consent_withdrawn_after_queueing_stops_the_message(outbox: Path) -> None:
    member = consenting()
    never = enroll("+79160000002")
    with clock.frozen_at(NOON):
        queued = advert(member, "dec-1")
        unasked = advert(never, "dec-1")
    with clock.frozen_at(NOON + timedelta(minutes=1)):
        consents_change(
            member_id=member.pk,
            changes={"sms_marketing": False},
            source="pos",
            actor=Actor.system("test"),
        )
    with clock.frozen_at(NOON + timedelta(minutes=2)):
        report = messages_send_due()
    assert report.sent == 0 and report.suppressed == {"consent_withdrawn": 1, "no_consent": 1}
    assert queued and unasked
    assert Message.objects.get(pk=queued.pk).reason == "consent_withdrawn"
    assert sms_lines(outbox) == []


@pytest.mark.django_db
def test_service_messages_follow_the_members_switches(outbox: Path) -> None:
    member = enroll(email="anna@example.ru")
    with clock.frozen_at(NOON):
        for channel in ("sms", "email"):
            message_queue(
                member_id=member.pk,
                channel=channel,
                purpose="service",
                trigger="points_expiring",
                occasion="2026-12-14",
                text="120 баллов сгорят 14 декабря",
                subject="Баллы скоро сгорят",
            )
        code = message_queue(
            member_id=member.pk,
            channel="sms",
            purpose="service",
            trigger="login_code",
            occasion="1",
            text="Код входа: 4821",
        )
        report = messages_send_due()
    # SMS about the account is off until the member turns it on; email is on; a code always goes
    assert report.sent == 2 and report.suppressed == {"service_off": 1}
    assert [line["text"] for line in sms_lines(outbox)] == ["Код входа: 4821"]
    assert code is not None
    (email_file,) = (outbox / "email").glob("*.log")
    text = email_file.read_text()
    assert "To: anna@example.ru" in text and "Subject: =?utf-8?" in text
    assert "List-Unsubscribe" not in text  # not advertising


@pytest.mark.django_db
def test_advertising_email_carries_a_one_click_unsubscribe(outbox: Path) -> None:
    member = consenting()
    with clock.frozen_at(NOON):
        message = advert(member, "dec-1", channel="email")
        assert messages_send_due().sent == 1
    assert message is not None
    (email_file,) = (outbox / "email").glob("*.log")
    text = re.sub(r"\n[ \t]+", " ", email_file.read_text())  # long headers are folded
    (link,) = re.findall(r"^List-Unsubscribe:\s*<(\S+)>$", text, re.MULTILINE)
    assert link.startswith("http://127.0.0.1:8000/u/")
    assert unsubscribe_read(link.rsplit("/", 1)[1]) == (member.pk, "email")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
    assert f"Message-ID: <kopilka-{message.pk}@kopilka.local>" in text
    assert "Content-Type: text/plain" in text
    assert not mail.outbox  # the real file backend, not the test's memory


@pytest.mark.django_db
def test_quiet_hours_defer_a_message_to_their_end_and_a_login_code_goes_at_once(
    outbox: Path,
) -> None:
    member = consenting()
    late = datetime(2026, 12, 7, 22, 30, tzinfo=MSK)
    with clock.frozen_at(late):
        message = advert(member, "dec-1")
        message_queue(
            member_id=member.pk,
            channel="sms",
            purpose="service",
            trigger="login_code",
            occasion="7",
            text="Код входа: 1234",
        )
        report = messages_send_due()
    assert (report.sent, report.deferred) == (1, 1)
    assert message is not None
    message.refresh_from_db()
    assert message.status == "queued" and message.reason == "quiet_hours_deferred"
    assert message.due_at == datetime(2026, 12, 8, 9, 0, tzinfo=MSK)
    with clock.frozen_at(datetime(2026, 12, 8, 8, 59, tzinfo=MSK)):
        assert messages_send_due().handled == 0
    with clock.frozen_at(datetime(2026, 12, 8, 9, 0, tzinfo=MSK)):
        assert messages_send_due().sent == 1
    last = [line["text"] for line in sms_lines(outbox)][-1]
    assert last.startswith("Кофе дня за полцены до пятницы Отписка: ")


@pytest.mark.django_db
def test_caps_hold_over_a_month_of_daily_adverts(outbox: Path) -> None:
    member = consenting()
    for day in range(30):
        at = NOON + timedelta(days=day)
        with clock.frozen_at(at):
            advert(member, f"day-{day}")
            advert(member, f"day-{day}", channel="email")
            messages_send_due()
    sent = Message.objects.filter(status="sent")
    for channel, (cap, days) in {"sms": (2, 7), "email": (4, 30)}.items():
        times = sorted(m.sent_at for m in sent.filter(channel=channel) if m.sent_at)
        assert times, channel
        for first in times:  # every window of `days` days starting at a send
            assert sum(first <= t < first + timedelta(days=days) for t in times) <= cap
    assert sent.filter(channel="sms").count() == 10  # days 0-1, 7-8, 14-15, 21-22, 28-29
    assert sent.filter(channel="email").count() == 4
    assert Message.objects.filter(reason="frequency_cap").count() == 60 - 14


@pytest.mark.django_db
def test_an_occasion_is_queued_once(outbox: Path) -> None:
    member = consenting()
    assert advert(member, "dec-1") is not None
    assert advert(member, "dec-1") is None
    assert advert(member, "dec-2") is not None
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_a_worker_that_died_mid_send_is_taken_over_without_a_second_copy(outbox: Path) -> None:
    member = consenting()
    with clock.frozen_at(NOON):
        went, lost = advert(member, "a"), advert(member, "b")
        assert messages_send_due(limit=2).sent == 2
    assert went and lost
    # as if the worker died after the outbox line of `went` and before either status update,
    # and before it wrote `lost` at all
    lines = sms_lines(outbox)
    (outbox / "sms.jsonl").write_text(
        "".join(
            json.dumps(line, ensure_ascii=False) + "\n" for line in lines if line["id"] == went.pk
        )
    )
    Message.objects.filter(pk__in=[went.pk, lost.pk]).update(
        status="sending", sent_at=None, lease_until=NOON + LEASE
    )
    with clock.frozen_at(NOON + LEASE - timedelta(seconds=1)):
        assert messages_send_due().handled == 0  # the lease still holds
    with clock.frozen_at(NOON + LEASE):
        assert messages_send_due().sent == 2
    assert sorted(line["id"] for line in sms_lines(outbox)) == sorted([went.pk, lost.pk])
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_an_unsubscribe_link_asks_then_withdraws_and_the_next_advert_stops(outbox: Path) -> None:
    member = consenting()
    client = Client()
    path = f"/unsubscribe/{unsubscribe_token(member.pk, 'email')}"
    page = client.get(path)
    assert page.status_code == 200 and "Отписаться от рекламы?" in page.content.decode()
    assert client.post(path).status_code == 200
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    with clock.frozen_at(NOON):
        advert(member, "dec-1", channel="email")
        advert(member, "dec-1", channel="sms")
        report = messages_send_due()
    assert report.sent == 1 and report.suppressed == {"unsubscribed": 1}
    withdrawals = member.consents.filter(source__startswith="unsubscribe")
    assert [(c.channel, c.given, c.source) for c in withdrawals] == [
        ("email", False, "unsubscribe:link")  # the second POST found it withdrawn already
    ]
    assert client.get("/unsubscribe/forged").status_code == 404


# --- two workers on PostgreSQL ----------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once_and_keep_the_cap(outbox: Path) -> None:
    members = [consenting(f"+7916{i:07d}") for i in range(40)]
    with clock.frozen_at(NOON):
        for member in members:
            for n in range(5):  # more than the cap of 2 a week, all due now
                advert(member, f"n{n}")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while messages_send_due(limit=25).handled:
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    # frozen once for both threads: the clock is one global, and two threads each freezing and
    # restoring it can leave it frozen for every test after
    with clock.frozen_at(NOON):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    ids = [line["id"] for line in sms_lines(outbox)]
    assert len(ids) == len(set(ids)) == 80  # 2 per member, none twice
    sent = Message.objects.filter(status="sent")
    assert sent.count() == 80 and Message.objects.filter(reason="frequency_cap").count() == 120
    per_member = {m.pk: sent.filter(member_id=m.pk).count() for m in members}
    assert set(per_member.values()) == {2}
