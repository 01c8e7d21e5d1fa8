"""The cashier screen: roles from the migration, a cashier limited to their store, the member
found by phone, card or the card's QR token, the talking points, a receipt priced with its
reasons and committed once per form through the same services as the POS API."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.selectors import member_points
from kopilka.members.card_token import card_token
from kopilka.pos.models import Purchase, Store
from kopilka.rewards.models import Reward
from kopilka.staff.models import StaffProfile
from tests.conftest import Api, assert_ledger_clean, enroll, points_move, program_set

pytestmark = pytest.mark.django_db
PASSWORD = "касса-пароль-42"


def cashier(*stores: Store, role: str = "cashier", name: str = "olga") -> Client:
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user).stores.set(stores)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def central(api: Api) -> Store:
    return Store.objects.get(code="central")


def form_key(page: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert found, page
    return found.group(1)


def test_the_roles_exist_with_their_permissions() -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {"owner", "marketer", "store_manager", "cashier"} <= names
    cashier_perms = {p.codename for p in Group.objects.get(name="cashier").permissions.all()}
    assert cashier_perms == {"use_till"}
    marketer = Group.objects.get(name="marketer").permissions
    assert marketer.filter(codename="change_reward").exists()
    assert not marketer.filter(codename="use_till").exists()


def test_only_staff_with_the_role_open_the_till(central: Store) -> None:
    assert Client().get("/till/").url.startswith("/admin/login/")
    nobody = User.objects.create_user("ivan", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(nobody)
    refused = client.get("/till/")
    assert refused.status_code == 403 and "Нет доступа" in refused.content.decode()
    page = cashier(central).get("/till/").content.decode()
    assert "Найти участника" in page and "Центральный" in page


def test_a_cashier_finds_the_member_by_phone_card_or_qr(central: Store) -> None:
    anna = enroll("+79161234567", name="Анна")
    client = cashier(central)
    number = anna.cards.get().number
    for query in ("8 916 123-45-67", number, card_token(anna.pk)):
        answer = client.get("/till/", {"q": query})
        assert answer.status_code == 302 and answer.url == f"/till/members/{anna.pk}/", query
    missing = client.get("/till/", {"q": "+79990000000"})
    assert missing.status_code == 400 and 'class="error"' in missing.content.decode()


def test_the_talking_points_say_what_the_member_has(central: Store) -> None:
    program_set(pending_days=0)
    anna = enroll("+79161234567", name="Анна Смирнова")
    points_move(anna.pk, earn=340)
    Reward.objects.create(
        code="cap", name="Капучино в подарок", kind=Reward.Kind.GIFT, points_price=250,
        cost=3000, created_at=clock.now(),
    )  # fmt: skip
    page = cashier(central).get(f"/till/members/{anna.pk}/").content.decode()
    assert "Анна: 340 баллов — это 340\u00a0₽ на этот чек." in page
    assert "340\u00a0₽" in page
    assert "Можно взять «Капучино в подарок» за 250 баллов." in page


def test_a_receipt_is_priced_with_reasons_then_recorded_once(central: Store) -> None:
    program_set(pending_days=0)
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=100)
    client = cashier(central)
    url = f"/till/members/{anna.pk}/"
    form = {"total": "1 000,00", "redeem": "points", "points": "50", "receipt_number": "T-1"}
    quoted = client.post(
        url, {**form, "action": "quote", "key": form_key(client.get(url).content.decode())}
    )
    page = quoted.content.decode()
    assert quoted.status_code == 200 and "Провести чек" in page
    assert not Purchase.objects.exists(), "pricing writes nothing"
    key = form_key(page)
    first = client.post(url, {**form, "action": "commit", "key": key})
    again = client.post(url, {**form, "action": "commit", "key": key})  # a double click
    assert first.status_code == again.status_code == 200
    assert "Чек T-1 проведён" in first.content.decode()
    (purchase,) = Purchase.objects.all()
    assert purchase.redeem_points == 50 and purchase.store == central and purchase.terminal is None
    assert member_points(anna.pk, clock.now())[0] == 100 - 50 + purchase.earn_points
    assert "Чеков с картой" in again.content.decode() or "С картой" in again.content.decode()
    assert_ledger_clean()


def test_bad_input_gets_a_message_and_changes_nothing(central: Store) -> None:
    anna = enroll("+79161234567", name="Анна")
    client = cashier(central)
    url = f"/till/members/{anna.pk}/"
    empty = client.post(url, {"redeem": "none", "action": "quote"})
    assert empty.status_code == 400 and "Укажите сумму чека" in empty.content.decode()
    bad = client.post(url, {"total": "abc", "redeem": "none", "action": "quote"})
    assert bad.status_code == 400 and "Введите сумму в рублях" in bad.content.decode()
    too_many = client.post(
        url, {"total": "100", "redeem": "points", "points": "500", "action": "quote"}
    )
    assert too_many.status_code == 400 and 'class="error"' in too_many.content.decode()
    stale = client.post(url, {"total": "100", "redeem": "none", "action": "commit", "key": "x"})
    assert stale.status_code == 400 and "Страница устарела" in stale.content.decode()
    assert not Purchase.objects.exists()
    assert client.get("/till/members/999999/").status_code == 404


def test_a_cashier_sells_only_in_their_own_store(central: Store) -> None:
    park = Store.objects.create(code="park", name="Парк")
    anna = enroll("+79161234567", name="Анна")
    client = cashier(park)
    page = client.get("/till/?store=central").content.decode()  # not theirs: ignored
    assert "· Парк" in page and "Центральный" not in page
    client.get("/till/?store=park")
    key = form_key(client.get(f"/till/members/{anna.pk}/").content.decode())
    client.post(
        f"/till/members/{anna.pk}/",
        {"total": "300", "redeem": "none", "action": "commit", "key": key},
    )
    assert Purchase.objects.get().store == park


def test_actor_of_a_till_sale_is_the_staff_user(central: Store, settings: Any) -> None:
    from kopilka.core.models import AuditEntry

    anna = enroll("+79161234567")
    client = cashier(central)
    url = f"/till/members/{anna.pk}/"
    key = form_key(client.get(url).content.decode())
    client.post(url, {"total": "300", "redeem": "none", "action": "commit", "key": key})
    entry = AuditEntry.objects.get(action="purchase.commit")
    assert entry.actor_label == Actor.staff(User.objects.get(username="olga")).label
    assert entry.actor_user == User.objects.get(username="olga")


def test_a_member_is_enrolled_at_the_till_with_the_code_from_their_sms(
    central: Store, settings: Any, tmp_path: Any
) -> None:
    from kopilka.members.models import Consent, Member
    from tests.portal.test_login import sent_code

    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = ""
    client = cashier(central)
    assert "Зарегистрировать участника" in client.get("/till/").content.decode()
    refused = client.post("/till/join/", {"step": "ask", "phone": "+79161234567"})
    assert refused.status_code == 400 and "Без этого согласия" in refused.content.decode()
    asked = client.post(
        "/till/join/",
        {"step": "ask", "phone": "8 916 123-45-67", "name": "Анна", "personal_data": "on"},
    )
    assert asked.status_code == 200 and "Код отправлен на +79161234567" in asked.content.decode()
    assert not Member.objects.exists(), "no account before the code"
    wrong = client.post("/till/join/", {"step": "code", "code": "000000"})
    assert wrong.status_code == 400
    done = client.post("/till/join/", {"step": "code", "code": sent_code(tmp_path / "outbox")})
    member = Member.objects.get(phone="+79161234567")
    assert done.status_code == 302 and done.url == f"/till/members/{member.pk}/"
    assert member.enrolled_store == central and member.enrolled_by.username == "olga"
    consent = Consent.objects.get(member=member, purpose="personal_data")
    assert consent.source == "till:central" and consent.confirmed_by == "sms_code"
    assert consent.store == central and consent.actor == "staff:olga"
    assert re.search(r"Привлёк участников</dt><dd>1<", client.get("/till/").content.decode())


def test_a_return_at_the_till_takes_back_the_points_once(central: Store) -> None:
    program_set(pending_days=0)
    anna = enroll("+79161234567", name="Анна")
    client = cashier(central)
    url = f"/till/members/{anna.pk}/"
    key = form_key(client.get(url).content.decode())
    client.post(url, {"total": "1000", "redeem": "none", "action": "commit", "key": key})
    purchase = Purchase.objects.get()
    assert purchase.earn_points == 50
    page = client.get(url).content.decode()
    back_url = f"/till/members/{anna.pk}/returns/{purchase.pk}/"
    assert back_url in page
    form_page = client.get(back_url).content.decode()
    line = purchase.lines.get()
    too_many = client.post(back_url, {f"back_{line.pk}": "2", "key": form_key(form_page)})
    assert too_many.status_code == 400 and "Вернуть можно не больше" in too_many.content.decode()
    key = form_key(too_many.content.decode())  # a refusal renders the form with a new key
    assert key != form_key(form_page)
    first = client.post(back_url, {f"back_{line.pk}": "1", "key": key})
    again = client.post(back_url, {f"back_{line.pk}": "1", "key": key})
    assert first.status_code == again.status_code == 200
    assert "Возврат проведён" in first.content.decode()
    assert purchase.returns.count() == 1
    assert member_points(anna.pk, clock.now())[0] == 0
    assert_ledger_clean()
    other = enroll("+79161234568")
    assert client.get(f"/till/members/{other.pk}/returns/{purchase.pk}/").status_code == 404


def test_a_staff_login_ends_after_the_idle_time(central: Store, settings: Any) -> None:
    import time

    from kopilka.staff.middleware import SEEN

    settings.KOPILKA_STAFF_IDLE_MINUTES = 30
    client = cashier(central)
    assert client.get("/till/").status_code == 200

    def last_seen(minutes_ago: int) -> None:
        session = client.session
        session[SEEN] = time.time() - minutes_ago * 60
        session.save()

    last_seen(20)
    assert client.get("/till/").status_code == 200, "20 idle minutes: still there"
    last_seen(31)
    gone = client.get("/till/")
    assert gone.status_code == 302 and gone.url.startswith("/admin/login/")
    assert client.get("/till/").url.startswith("/admin/login/"), "logged out"


def test_the_owner_gives_a_person_their_stores_on_the_users_page(central: Store) -> None:
    owner = User.objects.create_superuser("owner", password=PASSWORD, email="")
    olga = User.objects.create_user("olga", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(owner)
    page = client.get(f"/admin/auth/user/{olga.pk}/change/")
    assert page.status_code == 200 and 'name="staff_profile-0-stores"' in page.content.decode()


def test_a_voucher_chosen_at_the_till_is_used_with_the_receipt(central: Store) -> None:
    from kopilka.rewards.services import reward_exchange

    program_set(pending_days=0)
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=300)
    Reward.objects.create(
        code="off100", name="100 ₽ скидки", kind=Reward.Kind.FIXED_DISCOUNT, amount=10000,
        points_price=200, cost=10000, created_at=clock.now(),
    )  # fmt: skip
    voucher = reward_exchange(member_id=anna.pk, code="off100", actor=Actor.system("test"))
    client = cashier(central)
    url = f"/till/members/{anna.pk}/"
    page = client.get(url).content.decode()
    assert f'value="{voucher.code}"' in page
    form = {"total": "500", "redeem": "none", "voucher": voucher.code, "key": form_key(page)}
    quoted = client.post(url, {**form, "action": "quote"}).content.decode()
    assert re.search(r"Скидка</dt><dd>100\u00a0₽", quoted), quoted[-3000:]
    done = client.post(url, {**form, "action": "commit", "key": form_key(quoted)})
    assert done.status_code == 200 and "проведён" in done.content.decode()
    voucher.refresh_from_db()
    assert voucher.used_at is not None and voucher.purchase_id == Purchase.objects.get().pk
    forged = client.post(url, {**form, "voucher": "NOT-MINE", "action": "quote"})
    assert forged.status_code == 200  # a code that is not the member's is simply not applied


def test_a_cashier_does_not_read_the_analytics(central: Store) -> None:
    client = cashier(central)
    for url in ("/backoffice/analytics/", "/backoffice/program/simulations/"):
        assert client.get(url).status_code == 403, url
