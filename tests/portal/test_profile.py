"""The member's profile: an email is theirs once they open the link sent to it (through the real
sender and email channel); the language chosen is the language of their messages and pages."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.members.models import Member
from kopilka.messaging.models import Message
from kopilka.messaging.services import messages_send_due
from tests.conftest import enroll
from tests.portal.test_login import outbox, sent_code
from tests.portal.test_pages import logged_in

pytestmark = pytest.mark.django_db
__all__ = ["outbox"]


def save(client: Client, **changes: str) -> Any:
    form = {"name": "Анна", "email": "", "language": "ru", "sms_service": "on"}
    form.update(changes)
    return client.post("/me/profile/", form)


def link_in(mailoutbox: list[Any], to: str) -> str:
    messages_send_due()
    letter = mailoutbox[-1]
    assert letter.to == [to], letter.to
    found = re.search(r"http://\S+/me/email/(\S+)/", letter.body)
    assert found, letter.body
    return f"/me/email/{found.group(1)}/"


def test_a_new_email_is_the_members_once_the_link_is_opened(mailoutbox: list[Any]) -> None:
    anna = enroll("+79161234567", name="Анна")
    client = logged_in(anna)
    answer = save(client, email="Anna@Example.RU")
    assert answer.status_code == 200
    assert "Мы отправили ссылку на anna@example.ru" in answer.content.decode()
    anna.refresh_from_db()
    assert anna.email == "", "not before the link is opened"
    link = link_in(mailoutbox, "anna@example.ru")
    assert "Подтвердите почту" in mailoutbox[-1].subject
    message = Message.objects.get(trigger="email_confirm")
    assert message.member_id == anna.pk and message.address == "anna@example.ru"
    opened = Client().get(link)  # in the mail app: not logged in
    assert opened.status_code == 200 and "Почта подтверждена" in opened.content.decode()
    anna.refresh_from_db()
    assert anna.email == "anna@example.ru" and anna.email_confirmed_at is not None
    assert Client().get(link).status_code == 200, "opening it twice changes nothing more"
    assert "anna@example.ru подтверждена" in client.get("/me/profile/").content.decode()


def test_a_forged_an_old_or_an_overtaken_link_changes_nothing(mailoutbox: list[Any]) -> None:
    anna = enroll("+79161234567", name="Анна")
    client = logged_in(anna)
    save(client, email="first@example.ru")
    first = link_in(mailoutbox, "first@example.ru")
    save(client, email="second@example.ru")
    second = link_in(mailoutbox, "second@example.ru")
    assert Client().get(second).status_code == 200
    overtaken = Client().get(first)
    assert overtaken.status_code == 404 and "Ссылка не работает" in overtaken.content.decode()
    assert Client().get(second[:-3] + "xx/").status_code == 404
    save(client, email="third@example.ru")
    third = link_in(mailoutbox, "third@example.ru")
    with clock.frozen_at(clock.now() + timedelta(days=4)):
        assert Client().get(third).status_code == 404
    anna.refresh_from_db()
    assert anna.email == "second@example.ru"
    save(client, email="")
    anna.refresh_from_db()
    assert anna.email == "" and anna.email_confirmed_at is None, "erased at once"
    bad = save(client, email="not an email")
    assert bad.status_code == 400 and "Введите правильный адрес" in bad.content.decode()


def test_the_members_language_is_the_language_of_their_code_and_pages(outbox: Path) -> None:
    anna = enroll("+79161234567", name="Anna")
    client = logged_in(anna)
    answer = save(client, name="Anna", language="en")
    assert answer.cookies["django_language"].value == "en"
    assert "Saved." in answer.content.decode()
    assert Member.objects.get(pk=anna.pk).language == "en"
    assert "My data" in client.get("/me/").content.decode()
    fresh = Client()
    fresh.post("/login/", {"phone": "+79161234567"})
    code = sent_code(outbox)
    text = Message.objects.get(trigger="login_code").text
    assert text.startswith("Kopilka login code") and code in text
    assert save(client, language="de").status_code == 400


def test_joining_in_english_makes_an_english_member_and_sends_the_email_link(
    outbox: Path, mailoutbox: list[Any]
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    form = {"phone": "+79161234567", "name": "Ann", "email": "ann@example.com"}
    form["personal_data"] = "on"
    assert client.post("/join/", form).status_code == 302
    joined = client.post("/join/code/", {"code": sent_code(outbox)})
    assert joined.status_code == 302
    member = Member.objects.get(phone="+79161234567")
    assert member.language == "en" and member.email == "ann@example.com"
    assert member.email_confirmed_at is None
    link = link_in(mailoutbox, "ann@example.com")
    assert mailoutbox[-1].subject == "Confirm your email for Kopilka"
    Client().get(link)
    member.refresh_from_db()
    assert member.email_confirmed_at is not None


def test_the_telegram_link_is_a_button_and_a_qr_code(settings: Any) -> None:
    anna = enroll("+79161234567")
    client = logged_in(anna)
    assert client.get("/me/telegram/qr.svg").status_code == 404, "no bot configured"
    settings.KOPILKA_TELEGRAM_BOT = "kopilka_test_bot"
    page = client.get("/me/profile/").content.decode()
    assert 'src="/me/telegram/qr.svg"' in page and "https://t.me/kopilka_test_bot?start=" in page
    qr = client.get("/me/telegram/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
