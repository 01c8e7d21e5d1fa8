"""SMS Aero and SMS.ru through their real adapters against local fake provider servers (real
HTTP): what is sent, the provider's id kept, failures retried or not, delivery callbacks
authenticated and idempotent."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message
from kopilka.messaging.services import message_queue, messages_send_due
from tests.conftest import enroll
from tests.messaging.fake_providers import basic_auth, fake_provider

NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEXT = "Ваши 120 баллов сгорят 14 декабря"


@pytest.fixture
def member(db: None) -> Any:
    member = enroll("+79161234567")
    consents_change(
        member_id=member.pk,
        changes={"sms_service": True},
        source="test",
        actor=Actor.system("test"),
    )
    return member


def queue(member: Any, occasion: str = "1") -> Message:
    message = message_queue(
        member_id=member.pk,
        channel="sms",
        purpose="service",
        trigger="points_expiring",
        occasion=occasion,
        text=TEXT,
    )
    assert message is not None
    return message


def configure(settings: Any, kind: str, url: str) -> None:
    settings.KOPILKA_CHANNELS = {
        **settings.KOPILKA_CHANNELS,
        "sms": {
            "smsaero": "kopilka.messaging.channels.sms_http.SmsAero",
            "smsru": "kopilka.messaging.channels.sms_http.SmsRu",
        }[kind],
    }
    settings.KOPILKA_SMS_SENDER = "Kofeinya"
    settings.KOPILKA_SMSAERO_URL = url
    settings.KOPILKA_SMSAERO_EMAIL = "owner@example.ru"
    settings.KOPILKA_SMSAERO_API_KEY = "aero-key"
    settings.KOPILKA_SMSRU_URL = url
    settings.KOPILKA_SMSRU_API_ID = "ru-api-id"
    settings.KOPILKA_CALLBACK_SECRET = "s3cret"
    settings.KOPILKA_PUBLIC_URL = "https://loyalty.example.ru"
    settings.KOPILKA_QUIET_HOURS = ""


def test_sms_aero_gets_the_message_and_its_delivery_is_recorded_once(
    member: Any, settings: Any
) -> None:
    with fake_provider("smsaero") as aero:
        configure(settings, "smsaero", aero.url)
        message = queue(member)
        with clock.frozen_at(NOON):
            assert messages_send_due().sent == 1
    (seen,) = aero.seen
    assert seen.path == "/sms/send" and basic_auth(seen) == ("owner@example.ru", "aero-key")
    assert seen.body == {
        "number": "79161234567",
        "text": TEXT,
        "sign": "Kofeinya",
        "callbackUrl": "https://loyalty.example.ru/messaging/callbacks/smsaero/s3cret",
    }
    message.refresh_from_db()
    assert (message.status, message.provider, message.provider_message_id) == (
        "sent",
        "smsaero",
        "1001",
    )
    assert message.parts == 1
    client = Client()
    assert (
        client.post("/messaging/callbacks/smsaero/wrong", {"id": 1001, "status": 1}).status_code
        == 404
    )
    assert Message.objects.get(pk=message.pk).status == "sent"
    for _ in range(2):  # a repeated callback changes nothing
        answer = client.post(
            "/messaging/callbacks/smsaero/s3cret",
            {"id": 1001, "status": 1, "extendStatus": "delivery"},
            content_type="application/json",
        )
        assert answer.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    late = client.post("/messaging/callbacks/smsaero/s3cret", {"id": 1001, "status": 2})
    assert late.status_code == 200 and Message.objects.get(pk=message.pk).status == "delivered"
    assert client.post("/messaging/callbacks/smsaero/s3cret", {"id": "x"}).status_code == 400


def test_sms_aero_failures_are_retried_and_a_refused_message_fails(
    member: Any, settings: Any
) -> None:
    with fake_provider("smsaero") as aero:
        configure(settings, "smsaero", aero.url)
        flaky, refused = queue(member, "a"), queue(member, "b")
        aero.next_answers = [
            (503, {"success": False, "message": "maintenance"}),
            (400, {"success": False, "data": None, "message": "Validation error."}),
        ]
        with clock.frozen_at(NOON):
            report = messages_send_due()
        assert (report.sent, report.retried, report.failed) == (0, 1, 1)
        flaky.refresh_from_db()
        refused.refresh_from_db()
        assert flaky.status == "queued" and flaky.reason == "HTTP 503"
        assert flaky.due_at == NOON + timedelta(seconds=30)
        assert refused.status == "failed" and "Validation error." in refused.reason
        with clock.frozen_at(NOON + timedelta(seconds=30)):
            assert messages_send_due().sent == 1
    flaky.refresh_from_db()
    assert flaky.status == "sent" and flaky.attempts == 2 and len(aero.seen) == 3


def test_an_unreachable_provider_is_retried(member: Any, settings: Any) -> None:
    with fake_provider("smsaero") as aero:
        url = aero.url
    configure(settings, "smsaero", url)  # the server is gone: connection refused
    message = queue(member)
    with clock.frozen_at(NOON):
        assert messages_send_due().retried == 1
    message.refresh_from_db()
    assert message.status == "queued" and message.reason.startswith("ConnectError")


def test_sms_ru_gets_the_message_and_reports_delivery_in_its_own_format(
    member: Any, settings: Any
) -> None:
    with fake_provider("smsru") as smsru:
        configure(settings, "smsru", smsru.url)
        message, refused = queue(member, "a"), queue(member, "b")
        smsru.next_answers = [
            (
                200,
                {
                    "status": "OK",
                    "status_code": 100,
                    "sms": {
                        "79161234567": {"status": "OK", "status_code": 100, "sms_id": "000000-777"}
                    },
                },
            ),
            (
                200,
                {
                    "status": "OK",
                    "status_code": 100,
                    "sms": {
                        "79161234567": {
                            "status": "ERROR",
                            "status_code": 207,
                            "status_text": "На этот номер нельзя",
                        }
                    },
                },
            ),
        ]
        with clock.frozen_at(NOON):
            report = messages_send_due()
    assert (report.sent, report.failed) == (1, 1)
    first = smsru.seen[0]
    assert first.path == "/sms/send"
    assert first.body == {
        "api_id": "ru-api-id",
        "to": "79161234567",
        "msg": TEXT,
        "json": "1",
        "from": "Kofeinya",
    }
    message.refresh_from_db()
    refused.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "000000-777")
    assert refused.status == "failed" and "207" in refused.reason
    client = Client()
    status = "sms_status\n000000-777\n103\n1765098000"
    for _ in range(2):
        answer = client.post("/messaging/callbacks/smsru/s3cret", {"data[]": [status, "garbage"]})
        assert answer.status_code == 200 and answer.content == b"100"
    assert Message.objects.get(pk=message.pk).status == "delivered"
    assert client.get("/messaging/callbacks/smsru/s3cret").status_code == 405
