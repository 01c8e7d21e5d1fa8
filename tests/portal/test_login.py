"""Login to the member's page by a one-time code: sent through the real sender to the SMS file
outbox, hashed, short-lived, a few tries, rate-limited, the same answer for a stranger's phone."""

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.members.models import Member
from kopilka.messaging.models import Message, TelegramLink
from kopilka.messaging.services import messages_send_due
from kopilka.portal.models import LoginCode
from tests.conftest import enroll, points_move

pytestmark = pytest.mark.django_db
PHONE = "+79161234567"


@pytest.fixture(autouse=True)
def outbox(settings: Any, tmp_path: Path) -> Path:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = "00:00-23:59"  # a login code does not wait for the morning
    return tmp_path / "outbox"


def sent_code(outbox: Path) -> str:
    messages_send_due()
    lines = (outbox / "sms.jsonl").read_text().splitlines()
    found = re.search(r"\b(\d{6})\b", json.loads(lines[-1])["text"])
    assert found, lines[-1]
    return found.group(1)


def ask(client: Client, phone: str = "8 (916) 123-45-67") -> Any:
    return client.post("/login/", {"phone": phone})


def test_a_member_logs_in_with_the_code_from_the_sms(outbox: Path) -> None:
    member = enroll(PHONE, name="Анна")
    points_move(member.pk, earn=120, at=clock.now() - timedelta(days=3))
    client = Client()
    assert client.get("/me/").url == "/login/"
    page = client.get("/login/")
    assert 'autocomplete="tel"' in page.content.decode() and 'type="tel"' in page.content.decode()
    answer = ask(client)
    assert answer.status_code == 302 and answer.url == "/login/code/"
    form = client.get("/login/code/").content.decode()
    assert 'autocomplete="one-time-code"' in form and 'inputmode="numeric"' in form
    code = sent_code(outbox)
    message = Message.objects.get(trigger="login_code")
    assert message.status == "sent" and message.channel == "sms"  # quiet hours do not hold it
    stored = LoginCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    session_before = client.session.session_key
    logged = client.post("/login/code/", {"code": code})
    assert logged.status_code == 302 and logged.url == "/me/"
    assert client.session.session_key != session_before, "a new session id at login"
    home = client.get("/me/").content.decode()
    assert "Здравствуйте, Анна!" in home and "120" in home
    assert client.post("/login/code/", {"code": code}).status_code in (302, 400)
    client.post("/logout/")
    assert client.get("/me/").url == "/login/"


def test_a_strangers_phone_gets_the_same_answer_and_no_message(outbox: Path) -> None:
    enroll(PHONE)
    member_answer, stranger_answer = ask(Client()), ask(Client(), "+79169999999")
    assert member_answer.status_code == stranger_answer.status_code == 302
    assert member_answer.url == stranger_answer.url
    assert Message.objects.filter(trigger="login_code").count() == 1
    assert LoginCode.objects.count() == 2
    client = Client()
    ask(client, "+79169999999")
    refused = client.post("/login/code/", {"code": "123456"})
    assert refused.status_code == 400 and "Код неверный" in refused.content.decode()


def test_five_wrong_tries_kill_the_code_and_a_used_or_old_code_fails(outbox: Path) -> None:
    enroll(PHONE)
    client = Client()
    ask(client)
    code = sent_code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert client.post("/login/code/", {"code": wrong}).status_code == 400
    assert client.post("/login/code/", {"code": code}).status_code == 400, "worn out"
    ask(client)
    fresh = sent_code(outbox)
    with clock.frozen_at(clock.now() + timedelta(minutes=6)):
        assert client.post("/login/code/", {"code": fresh}).status_code == 400, "expired"
    assert "Код состоит из 6 цифр" in client.post("/login/code/", {"code": "12ab"}).content.decode()


def test_three_codes_per_phone_and_a_limit_per_ip(settings: Any, outbox: Path) -> None:
    enroll(PHONE)
    for _ in range(3):
        assert ask(Client()).status_code == 302
    refused = ask(Client())
    assert refused.status_code == 400 and "Слишком много кодов" in refused.content.decode()
    assert LoginCode.objects.count() == 3
    settings.KOPILKA_LOGIN_CODES_PER_IP = 4
    assert ask(Client(), "+79160000001").status_code == 302
    assert ask(Client(), "+79160000002").status_code == 400  # the same IP, other phones
    with clock.frozen_at(clock.now() + timedelta(minutes=16)):
        assert ask(Client()).status_code == 302


def test_bad_input_gets_a_form_message(outbox: Path) -> None:
    answer = ask(Client(), "not a phone")
    assert answer.status_code == 400 and "Это не номер телефона" in answer.content.decode()
    assert Client().get("/login/code/").url == "/login/"  # no phone asked yet
    assert Client().post("/logout/").status_code == 302
    assert Client().get("/logout/").status_code == 405


POSTS = ["/login/", "/login/code/", "/login/password/", "/join/", "/join/code/", "/logout/",
         "/i18n/setlang/", "/me/profile/", "/me/password/", "/me/rewards/", "/me/delete/"]  # fmt: skip


def test_every_form_needs_the_csrf_token() -> None:
    from kopilka.portal.session import KEY

    member = enroll(PHONE)
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session[KEY] = member.pk
    session.save()
    for path in POSTS:
        assert client.post(path, {"phone": PHONE, "confirm": "yes"}).status_code == 403, path
    assert Member.objects.get(pk=member.pk).status == Member.Status.ACTIVE


def test_the_members_session_cookie_is_httponly_lax_and_secure_over_https(
    outbox: Path, settings: Any
) -> None:
    settings.SESSION_COOKIE_SECURE = True  # what KOPILKA_HTTPS sets
    enroll(PHONE)
    client = Client()
    ask(client)
    answer = client.post("/login/code/", {"code": sent_code(outbox)})
    cookie = answer.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax" and cookie["secure"] is True


def test_a_linked_telegram_chat_gets_the_code_instead_of_an_sms(outbox: Path) -> None:
    member = enroll(PHONE)
    TelegramLink.objects.create(member=member, chat_id=42, linked_at=clock.now())
    ask(Client())
    messages_send_due()
    message = Message.objects.get(trigger="login_code")
    assert message.channel == "telegram" and message.status == "sent"
    line = json.loads((outbox / "telegram.jsonl").read_text().splitlines()[-1])
    assert line["to"] == "42" and re.search(r"\d{6}", line["text"])
