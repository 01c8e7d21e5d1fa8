"""The member's pages after login: history with its filter and pages, a receipt with each line's
figures and reasons, how the program works; only the member's own data, whatever the URL."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.members.models import Member
from kopilka.portal.session import KEY
from kopilka.pos.models import Purchase
from tests.conftest import Api, enroll, program_set, receipt

pytestmark = pytest.mark.django_db


def logged_in(member: Member) -> Client:
    client = Client()
    session = client.session
    session[KEY] = member.pk
    session.save()
    return client


def buy(api: Api, member: Member, number: str, price: str = "300.00", **extra: Any) -> int:
    body = receipt(("CAP", "1", price), member_id=member.pk, receipt_number=number, **extra)
    answer = api.post("/purchases", body, idempotency_key=number)
    assert answer.status_code == 201, answer.content
    return int(answer.json()["id"])


def test_history_pages_and_filters_the_members_operations(api: Api) -> None:
    anna = enroll("+79161234567", name="Анна")
    for n in range(25):
        buy(api, anna, f"R-{n}")
    client = logged_in(anna)
    first = client.get("/me/history/").content.decode()
    assert first.count('class="op-head"') == 20 and "страница 1 из 2" in first
    second = client.get("/me/history/?page=2").content.decode()
    assert second.count('class="op-head"') == 5
    assert client.get("/me/history/?page=99").status_code == 200  # the last page
    assert client.get("/me/history/?page=abc").status_code == 200
    none = client.get("/me/history/?kind=expire").content.decode()
    assert "Операций такого вида за этот период нет." in none
    unknown = client.get("/me/history/?kind=<script>")
    assert unknown.status_code == 400 and "Выберите корректный вариант" in unknown.content.decode()
    assert (
        "&lt;script&gt;" in unknown.content.decode() or "<script>" not in unknown.content.decode()
    )


def test_history_filters_by_period_and_keeps_the_filter_across_pages(api: Api) -> None:
    anna = enroll("+79161234567", name="Анна")
    with clock.frozen_at(datetime(2026, 3, 10, 12, tzinfo=UTC)):
        buy(api, anna, "MARCH")
    for n in range(22):
        with clock.frozen_at(datetime(2026, 5, 1, 12, n, tzinfo=UTC)):
            buy(api, anna, f"MAY-{n}")
    client = logged_in(anna)
    march = client.get("/me/history/?since=2026-03-01&until=2026-03-31").content.decode()
    assert "MARCH" in march and "MAY-" not in march
    may = client.get("/me/history/?kind=earn&since=2026-04-01").content.decode()
    assert may.count('class="op-head"') == 20 and "MARCH" not in may
    assert "?kind=earn&amp;since=2026-04-01&amp;page=2" in may, "the next page keeps the filter"
    backwards = client.get("/me/history/?since=2026-05-02&until=2026-05-01")
    assert backwards.status_code == 400
    assert "Конец периода раньше его начала." in backwards.content.decode()
    bad = client.get("/me/history/?since=31.02.2026")
    assert bad.status_code == 400 and "Введите правильную дату" in bad.content.decode()


def test_a_purchase_that_moved_no_points_is_in_the_history_with_its_discount(api: Api) -> None:
    program_set(mode="discount", discount_percent="10")
    anna = enroll("+79161234567", name="Анна")
    purchase_id = buy(api, anna, "D-1", "500.00")
    page = logged_in(anna).get("/me/history/?kind=purchase").content.decode()
    assert "Чек D-1 в Центральный: скидка 50 ₽." in page
    assert f'href="/me/purchases/{purchase_id}/"' in page
    assert "CAP: " in page


def test_a_receipt_shows_each_lines_figures_and_reasons_and_only_to_its_member(api: Api) -> None:
    anna, boris = enroll("+79161234567", name="Анна"), enroll("+79161234568", name="Борис")
    purchase_id = buy(api, anna, "R-1", "400.00")
    page = logged_in(anna).get(f"/me/purchases/{purchase_id}/").content.decode()
    assert "Чек R-1" in page and "CAP" in page and "+20" in page
    assert "5 % базовых = 20 баллов" in page
    assert logged_in(boris).get(f"/me/purchases/{purchase_id}/").status_code == 404
    assert logged_in(anna).get("/me/purchases/999999/").status_code == 404
    assert Client().get(f"/me/purchases/{purchase_id}/").url == "/login/"
    assert Purchase.objects.count() == 1


def test_how_it_works_is_the_program_in_force_in_words() -> None:
    page = logged_in(enroll()).get("/me/program/").content.decode()
    assert "5 %" in page and "30 %" in page


def test_a_blocked_member_is_logged_out() -> None:
    anna = enroll()
    client = logged_in(anna)
    Member.objects.filter(pk=anna.pk).update(status=Member.Status.BLOCKED)
    assert client.get("/me/").url == "/login/"


def test_the_profile_sets_the_name_the_birth_date_once_and_each_switch(settings: Any) -> None:
    from datetime import date

    from kopilka.members.models import Consent
    from kopilka.members.selectors import consents_in_force

    settings.KOPILKA_TELEGRAM_BOT = "kopilka_test_bot"
    anna = enroll("+79161234567", name="Анна")
    client = logged_in(anna)
    page = client.get("/me/profile/").content.decode()
    assert 'name="sms_marketing"' in page and "https://t.me/kopilka_test_bot?start=" in page
    assert 'name="email_service" id="id_email_service" checked' in page  # on by default
    form = {"name": "Анна Смирнова", "birth_date": "1990-05-17", "sms_marketing": "on",
            "email_service": "on", "telegram_service": "on"}  # fmt: skip
    saved = client.post("/me/profile/", form)
    assert saved.status_code == 200 and "Сохранено." in saved.content.decode()
    anna.refresh_from_db()
    assert (anna.name, anna.birth_date) == ("Анна Смирнова", date(1990, 5, 17))
    switches = consents_in_force(anna.pk)
    assert switches["sms_marketing"] and not switches["sms_service"]
    (given,) = Consent.objects.filter(member=anna, source="portal")  # only the switch changed
    assert (given.purpose, given.channel, given.given) == ("marketing", "sms", True)
    again = client.post("/me/profile/", {**form, "birth_date": "1991-01-01"})
    anna.refresh_from_db()
    assert anna.birth_date == date(1990, 5, 17)  # the disabled field keeps its value
    assert again.status_code == 200
    withdrawn = client.post("/me/profile/", {k: v for k, v in form.items() if k != "sms_marketing"})
    assert withdrawn.status_code == 200 and not consents_in_force(anna.pk)["sms_marketing"]
    bad = client.post("/me/profile/", {"name": "x" * 300})
    assert bad.status_code == 400


def test_a_bad_birth_date_gets_a_form_message() -> None:
    client = logged_in(enroll())
    answer = client.post("/me/profile/", {"name": "Анна", "birth_date": "31.02.1990"})
    assert answer.status_code == 400 and 'class="error"' in answer.content.decode()


def test_the_member_downloads_their_data_and_sees_every_consent(api: Api) -> None:
    import json

    anna = enroll("+79161234567", name="Анна")
    buy(api, anna, "R-7", "250.00")
    client = logged_in(anna)
    privacy = client.get("/me/privacy/").content.decode()
    assert ("Согласия" in privacy and "дано" in privacy) or "отозвано" in privacy
    data = json.loads(client.get("/me/export.json").content)
    assert data["profile"]["phone"] == "+79161234567"
    assert [p["receipt_number"] for p in data["purchases"]] == ["R-7"]
    assert data["purchases"][0]["lines"][0]["sku"] == "CAP"
    assert data["point_operations"][0]["points"] == 12 and data["consents"]
    table = client.get("/me/export.csv")
    assert table["Content-Disposition"] == 'attachment; filename="kopilka-my-data.csv"'
    assert "R-7" in table.content.decode("utf-8-sig")
    assert client.get("/me/export.xml").status_code == 404


def test_deleting_the_account_erases_the_person_and_keeps_the_ledger(
    api: Api, settings: Any, tmp_path: Any
) -> None:
    from kopilka.ledger.checks import ledger_problems
    from kopilka.members.models import Card
    from kopilka.members.selectors import consents_in_force
    from kopilka.messaging.models import Message

    settings.KOPILKA_VAR_DIR = tmp_path
    anna = enroll("+79161234567", name="Анна", email="anna@example.ru")
    buy(api, anna, "R-1")
    client = logged_in(anna)
    unconfirmed = client.post("/me/delete/", {})
    assert unconfirmed.status_code == 400
    assert Member.objects.get(pk=anna.pk).status == "active"
    gone = client.post("/me/delete/", {"confirm": "yes"})
    assert gone.status_code == 200 and "удалён" in gone.content.decode()
    anna.refresh_from_db()
    assert (anna.status, anna.name, anna.email, anna.phone) == (
        "anonymised",
        "",
        "",
        f"anon-{anna.pk}",
    )
    assert not Card.objects.filter(member=anna, status="active").exists()
    assert not any(consents_in_force(anna.pk).values())
    assert client.get("/me/").url == "/login/"
    assert Client().post("/login/", {"phone": "+79161234567"}).status_code == 302  # same answer
    assert not Message.objects.filter(trigger="login_code").exists()
    assert ledger_problems() == []
    again = enroll("+79161234567", name="Анна")  # the phone joins again as a new member
    assert again.pk != anna.pk
