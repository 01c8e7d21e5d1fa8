"""Joining from the member's page: the phone is proved by a code sent (through the real sender,
to the SMS file outbox) before any account exists; each consent its own box, recorded with the
text version, time, IP address, browser, store and how the phone was proved."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kopilka.members.models import Consent, Member
from kopilka.messaging.models import Message
from kopilka.portal.models import LoginCode
from kopilka.pos.models import Store
from tests.conftest import enroll
from tests.portal.test_login import outbox, sent_code

pytestmark = pytest.mark.django_db
PHONE = "+79161234567"
AGENT = "Mozilla/5.0 (iPhone) Kopilka-test"
__all__ = ["outbox"]  # the fixture, used by every test here


def join_form(**changes: str) -> dict[str, str]:
    form = {"phone": "8 916 123-45-67", "name": "Анна", "personal_data": "on"}
    form.update(changes)
    return {k: v for k, v in form.items() if v}


def joined(client: Client, outbox: Path, url: str = "/join/", **changes: str) -> Any:
    answer = client.post(url, join_form(**changes), HTTP_USER_AGENT=AGENT)
    assert answer.status_code == 302 and answer.url == "/join/code/", answer.content.decode()
    assert not Member.objects.filter(phone=PHONE).exists(), "no account before the code"
    return client.post("/join/code/", {"code": sent_code(outbox)})


def test_joining_from_the_store_qr_records_each_consent_with_its_evidence(outbox: Path) -> None:
    store = Store.objects.create(code="arbat", name="Арбат")
    client = Client()
    page = client.get("/join/arbat/").content.decode()
    assert "Арбат" in page and 'type="tel"' in page
    assert 'href="/consent/personal-data/?version=2026-11"' in page
    assert page.count('type="checkbox"') == 4 and " checked" not in page, "nothing pre-ticked"
    done = joined(client, outbox, "/join/arbat/", sms_marketing="on")
    assert done.status_code == 302 and done.url == "/me/"
    member = Member.objects.get(phone=PHONE)
    assert member.name == "Анна" and member.enrolled_store == store
    message = Message.objects.get(trigger="join_code")
    assert message.member is None and message.address == PHONE and message.status == "sent"
    home = client.get("/me/").content.decode()
    assert "Добро пожаловать" in home and "Анна" in home
    decisions = {
        (c.purpose, c.channel): c for c in Consent.objects.filter(member=member).order_by("id")
    }
    assert {k: c.given for k, c in decisions.items()} == {
        ("personal_data", "any"): True,
        ("marketing", "sms"): True,
        ("marketing", "email"): False,
    }
    for consent in decisions.values():
        assert consent.text_version == "2026-11" and consent.source == "portal:join"
        assert consent.ip == "127.0.0.1" and consent.user_agent == AGENT
        assert consent.store == store and consent.confirmed_by == "sms_code"
        assert consent.actor == "member:portal"
    assert decisions[("personal_data", "any")].address == PHONE
    assert decisions[("marketing", "email")].address == ""


def test_without_the_personal_data_consent_nothing_is_sent_or_stored(outbox: Path) -> None:
    answer = Client().post("/join/", join_form(personal_data=""))
    assert answer.status_code == 400
    assert "Без этого согласия" in answer.content.decode()
    assert not LoginCode.objects.exists() and not Message.objects.exists()
    email_ads = Client().post("/join/", join_form(email_marketing="on"))
    assert email_ads.status_code == 400 and "Укажите почту" in email_ads.content.decode()
    bad_phone = Client().post("/join/", join_form(phone="12"))
    assert bad_phone.status_code == 400 and "не номер телефона" in bad_phone.content.decode()
    assert Client().get("/join/nowhere/").status_code == 404


def test_a_wrong_code_enrols_no_one_and_five_wrong_tries_end_the_code(outbox: Path) -> None:
    client = Client()
    client.post("/join/", join_form())
    code = sent_code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert client.post("/join/code/", {"code": wrong}).status_code == 400
    assert client.post("/join/code/", {"code": code}).status_code == 400, "worn out"
    assert not Member.objects.exists()


def test_a_member_who_joins_again_is_logged_in_and_nothing_changes(outbox: Path) -> None:
    member = enroll(PHONE, name="Анна")
    before = list(Consent.objects.filter(member=member).values_list("id", flat=True))
    client = Client()
    done = joined_existing(client, outbox)
    assert done.status_code == 302 and done.url == "/me/"
    assert Member.objects.filter(phone=PHONE).count() == 1
    assert list(Consent.objects.filter(member=member).values_list("id", flat=True)) == before
    assert "уже участник" in client.get("/me/").content.decode()


def joined_existing(client: Client, outbox: Path) -> Any:
    assert client.post("/join/", join_form(name="Другое имя")).status_code == 302
    return client.post("/join/code/", {"code": sent_code(outbox)})


def test_a_join_code_does_not_log_in_and_a_login_code_does_not_join(outbox: Path) -> None:
    client = Client()
    client.post("/join/", join_form())
    code = sent_code(outbox)
    client.post("/login/", {"phone": PHONE})
    assert client.post("/login/code/", {"code": code}).status_code == 400
    assert not Member.objects.exists()


def test_join_and_login_codes_share_the_limits(outbox: Path) -> None:
    for _ in range(3):
        assert Client().post("/join/", join_form()).status_code == 302
    refused = Client().post("/join/", join_form())
    assert refused.status_code == 400 and "Слишком много" in refused.content.decode()
    assert LoginCode.objects.count() == 3


def test_the_consent_documents_are_their_own_pages_in_both_languages() -> None:
    client = Client()
    ru = client.get("/consent/personal-data/").content.decode()
    assert "Согласие на обработку персональных данных" in ru and "152-ФЗ" in ru
    assert "ООО «Копилка» (демо)" in ru and "Редакция 2026-11" in ru
    assert "рекламных" in client.get("/consent/marketing/").content.decode()
    en = client.get("/consent/personal-data/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Consent to personal data processing" in en
    assert client.get("/consent/personal-data/?version=1999-01").status_code == 404
    assert client.get("/consent/personal-data/?version=../../x").status_code == 404
    assert client.get("/consent/other/").status_code == 404


def test_after_deleting_the_account_the_same_phone_joins_again_as_a_new_member(
    outbox: Path,
) -> None:
    client = Client()
    joined(client, outbox)
    first = Member.objects.get(phone=PHONE)
    assert client.post("/me/delete/", {"confirm": "yes"}).status_code == 200
    again = Client()
    assert joined(again, outbox).url == "/me/"
    second = Member.objects.get(phone=PHONE)
    assert second.pk != first.pk and Member.objects.get(pk=first.pk).phone == f"anon-{first.pk}"
    assert "Добро пожаловать" in again.get("/me/").content.decode()
