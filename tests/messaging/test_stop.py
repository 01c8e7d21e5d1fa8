"""A member stops advertising: the short link every advertising SMS ends with, and a reply
«СТОП» that the provider forwards; honoured before the next send, recorded with its source."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from kopilka.core.audit import Actor
from kopilka.members.models import Consent
from kopilka.members.services import consents_change
from kopilka.messaging.callbacks import stop_requested
from kopilka.messaging.models import Message
from kopilka.messaging.services import message_queue, messages_send_due
from kopilka.messaging.texts import TemplateInvalid, sms_template_check
from kopilka.messaging.unsubscribe import SALT, unsubscribe_read, unsubscribe_token
from tests.conftest import enroll

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(settings: Any, tmp_path: Path) -> None:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = ""
    settings.KOPILKA_CALLBACK_SECRET = "s3cret"
    settings.KOPILKA_PUBLIC_URL = "https://loyalty.example.ru"


def subscribed(phone: str = "+79161234567") -> Any:
    member = enroll(phone)
    consents_change(
        member_id=member.pk, changes={"sms_marketing": True}, source="test", actor=Actor.system("t")
    )
    return member


def advert(member: Any, occasion: str) -> Message:
    message = message_queue(
        member_id=member.pk, channel="sms", purpose="marketing", trigger="campaign",
        occasion=occasion, text="Кофе дня за полцены до пятницы",
    )  # fmt: skip
    assert message is not None
    return message


def sms_lines(settings: Any) -> list[dict[str, Any]]:
    path = Path(settings.KOPILKA_VAR_DIR) / "outbox" / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_short_token_names_member_and_channel_and_cannot_be_forged() -> None:
    token = unsubscribe_token(123456, "sms")
    assert len(token) == 4 + 1 + 12
    assert unsubscribe_read(token) == (123456, "sms")
    assert unsubscribe_read(unsubscribe_token(7, "email")) == (7, "email")
    forged = token[:3] + ("x" if token[3] != "x" else "y") + token[4:]
    assert unsubscribe_read(forged) is None
    assert unsubscribe_read(token[:-1]) is None
    assert unsubscribe_read("") is None and unsubscribe_read("zzzzzzzzzzzzzzzzzz") is None
    # the long links in mail sent before still work
    assert unsubscribe_read(signing.dumps([5, "email"], salt=SALT, compress=True)) == (5, "email")


def test_an_advertising_sms_ends_with_its_short_link_which_unsubscribes(settings: Any) -> None:
    member = subscribed()
    advert(member, "dec")
    assert messages_send_due().sent == 1
    (line,) = sms_lines(settings)
    text, _, url = line["text"].rpartition(" ")
    assert text == "Кофе дня за полцены до пятницы Отписка:"
    assert url == f"https://loyalty.example.ru/u/{unsubscribe_token(member.pk, 'sms')}"
    assert line["parts"] == 2  # UCS-2: the link makes it two parts of 67

    client = Client()
    path = url.removeprefix("https://loyalty.example.ru")
    page = client.get(path)
    assert page.status_code == 200 and "SMS" in page.content.decode()
    assert client.post(path).status_code == 200
    latest = Consent.objects.filter(member=member, channel="sms").latest("recorded_at", "id")
    assert not latest.given and latest.source == "unsubscribe:link"
    later = advert(member, "jan")
    messages_send_due()
    later.refresh_from_db()
    assert (later.status, later.reason) == ("suppressed", "unsubscribed")


def test_a_service_sms_has_no_link(settings: Any) -> None:
    member = enroll("+79161234567")
    consents_change(
        member_id=member.pk, changes={"sms_service": True}, source="test", actor=Actor.system("t")
    )
    message_queue(
        member_id=member.pk, channel="sms", purpose="service", trigger="points_expiring",
        occasion="x", text="Баллы сгорят",
    )  # fmt: skip
    messages_send_due()
    assert sms_lines(settings)[0]["text"] == "Баллы сгорят"


@pytest.mark.parametrize(
    ("text", "stop"),
    [("СТОП", True), ("стоп!", True), (" Stop ", True), ("STOP please", True),
     ("Отписаться", True), ("unsubscribe", True), ("спасибо", False), ("", False),
     ("остановите стоп", False)],
)  # fmt: skip
def test_stop_words(text: str, stop: bool) -> None:
    assert stop_requested(text) is stop


def test_a_stop_reply_withdraws_the_consent_before_the_next_send(settings: Any) -> None:
    member = subscribed()
    other = subscribed("+79161234568")
    queued = advert(member, "dec")
    client = Client()
    answer = client.post(
        "/messaging/incoming/smsaero/s3cret",
        {"from": "79161234567", "text": "СТОП"},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.content == b"ok"
    latest = Consent.objects.filter(member=member, channel="sms").latest("recorded_at", "id")
    assert not latest.given and latest.source == "sms:stop:smsaero"
    advert(other, "dec")
    report = messages_send_due()
    assert report.sent == 1 and report.suppressed == {"unsubscribed": 1}
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == ("suppressed", "unsubscribed")

    again = client.post("/messaging/incoming/smsru/s3cret", {"phone": "89161234567", "msg": "stop"})
    assert again.content == b"100"  # SMS.ru's acknowledgement
    assert Consent.objects.filter(member=member, source__startswith="sms:stop").count() == 1


def test_other_replies_and_bad_requests_change_nothing() -> None:
    member = subscribed()
    client = Client()
    before = Consent.objects.count()
    assert client.post("/messaging/incoming/smsaero/wrong", {"from": "79161234567", "text": "стоп"}).status_code == 404  # fmt: skip
    assert client.post("/messaging/incoming/nobody/s3cret", {"from": "1", "text": "стоп"}).status_code == 404  # fmt: skip
    assert client.post("/messaging/incoming/smsaero/s3cret", {"text": "стоп"}).status_code == 400
    assert client.post("/messaging/incoming/smsaero/s3cret", {"from": "abc", "text": "стоп"}).status_code == 400  # fmt: skip
    bad_json = client.post(
        "/messaging/incoming/smsaero/s3cret", "{", content_type="application/json"
    )
    assert bad_json.status_code == 400
    thanks = client.post("/messaging/incoming/smsaero/s3cret", {"from": "79161234567", "text": "спасибо"})  # fmt: skip
    assert thanks.status_code == 200
    assert client.get("/messaging/incoming/smsaero/s3cret").status_code == 405
    assert Consent.objects.count() == before
    assert Consent.objects.filter(member=member, channel="sms").latest("recorded_at", "id").given


def test_an_advertising_template_leaves_room_for_the_link() -> None:
    text = "Кофе дня за полцены до пятницы, приходите в любую нашу кофейню! " * 3
    assert sms_template_check(text).parts == 3
    with pytest.raises(TemplateInvalid):
        sms_template_check(text, advertising=True)
