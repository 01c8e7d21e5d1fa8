"""The optional password: set from the profile after a code login, validated, stored hashed,
checked with the same answer for every wrong phone or password, and limited like the codes."""

from typing import Any

import pytest
from django.test import Client

from kopilka.members.models import Member
from kopilka.portal.models import PasswordTry
from tests.conftest import enroll
from tests.portal.test_pages import logged_in

pytestmark = pytest.mark.django_db
PHONE = "+79161234567"
SECRET = "кофе-с-корицей-42"


def log_in(password: str, phone: str = "8 916 123-45-67", client: Client | None = None) -> Any:
    return (client or Client()).post("/login/password/", {"phone": phone, "password": password})


def test_a_member_sets_a_password_and_logs_in_with_it() -> None:
    anna = enroll(PHONE, name="Анна")
    client = logged_in(anna)
    assert "Задать пароль" in client.get("/me/profile/").content.decode()
    mismatch = client.post("/me/password/", {"action": "set", "password": SECRET, "again": "x"})
    assert mismatch.status_code == 400 and "Пароли не совпадают." in mismatch.content.decode()
    weak = client.post("/me/password/", {"action": "set", "password": "123", "again": "123"})
    assert weak.status_code == 400 and "слишком короткий" in weak.content.decode()
    done = client.post("/me/password/", {"action": "set", "password": SECRET, "again": SECRET})
    assert done.status_code == 200 and "Пароль задан." in done.content.decode()
    stored = Member.objects.get(pk=anna.pk).password
    assert stored.startswith("argon2") or stored.count("$") >= 2
    assert SECRET not in stored
    fresh = Client()
    answer = log_in(SECRET, client=fresh)
    assert answer.status_code == 302 and answer.url == "/me/"
    assert "Здравствуйте, Анна!" in fresh.get("/me/").content.decode()
    removed = client.post("/me/password/", {"action": "remove"})
    assert "Пароль убран" in removed.content.decode()
    assert log_in(SECRET).status_code == 400


def test_every_wrong_answer_is_the_same_and_five_failures_stop_the_phone() -> None:
    anna = enroll(PHONE, name="Анна")
    logged_in(anna).post("/me/password/", {"action": "set", "password": SECRET, "again": SECRET})
    enroll("+79161234568", name="Борис")  # a member with no password
    wrong = log_in("не тот пароль").content.decode()
    stranger = log_in(SECRET, "+79169999999").content.decode()
    no_password = log_in(SECRET, "+79161234568").content.decode()
    for page in (wrong, stranger, no_password):
        assert "Неверный телефон или пароль." in page
    for _ in range(4):
        log_in("не тот пароль")
    assert PasswordTry.objects.filter(phone=PHONE).count() == 5
    stopped = log_in(SECRET)
    assert stopped.status_code == 400
    assert "Слишком много неверных паролей" in stopped.content.decode()
    assert log_in(SECRET, "not a phone").status_code == 400


def test_the_password_page_needs_a_login_and_a_deleted_account_loses_it() -> None:
    assert Client().get("/me/password/").url == "/login/"
    anna = enroll(PHONE)
    client = logged_in(anna)
    client.post("/me/password/", {"action": "set", "password": SECRET, "again": SECRET})
    client.post("/me/delete/", {"confirm": "yes"})
    assert Member.objects.get(pk=anna.pk).password == ""
    assert log_in(SECRET).status_code == 400
