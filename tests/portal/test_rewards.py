"""Rewards on the member's page: the catalogue as this member sees it, an exchange that spends
the points through the ledger once per form (a double tap gives one voucher), the voucher as a
code and a QR code, and nobody else's voucher, whatever the URL."""

import re

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.ledger.selectors import member_points
from kopilka.rewards.models import Reward, Voucher
from tests.conftest import assert_ledger_clean, enroll, points_move
from tests.portal.test_pages import logged_in

pytestmark = pytest.mark.django_db


def reward(code: str, price: int, **extra: object) -> Reward:
    return Reward.objects.create(
        code=code, name=f"Награда {code}", kind=Reward.Kind.GIFT, points_price=price, cost=1000,
        created_at=clock.now(), **extra,
    )  # fmt: skip


def form_key(page: str, code: str) -> str:
    found = re.search(
        rf'name="reward" value="{code}">\s*<input type="hidden" name="key" value="([0-9a-f]{{32}})"',
        page,
    )
    assert found, page
    return found.group(1)


def test_a_member_exchanges_points_for_a_voucher_once_per_form() -> None:
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=300)
    reward("cap", 250)
    reward("mug", 900)
    reward("once", 10, per_member_limit=1)
    client = logged_in(anna)
    page = client.get("/me/rewards/").content.decode()
    assert "Обменять 250 баллов" in page and "не хватает баллов: 600" in page
    key = form_key(page, "cap")
    first = client.post("/me/rewards/", {"reward": "cap", "key": key})
    again = client.post("/me/rewards/", {"reward": "cap", "key": key})  # a double tap
    assert first.status_code == again.status_code == 302 and first.url == again.url
    (voucher,) = Voucher.objects.filter(member=anna)
    assert first.url == f"/me/vouchers/{voucher.code}/"
    assert member_points(anna.pk, clock.now())[0] == 50
    shown = client.get(first.url).content.decode()
    assert voucher.code in shown and "Покажите на кассе." in shown
    qr = client.get(f"/me/vouchers/{voucher.code}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert voucher.code in client.get("/me/rewards/").content.decode()
    assert_ledger_clean()


def test_a_refused_exchange_says_why_and_spends_nothing() -> None:
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=100)
    reward("mug", 900)
    client = logged_in(anna)
    poor = client.post("/me/rewards/", {"reward": "mug", "key": "a" * 32})
    assert poor.status_code == 400 and "Недостаточно баллов" in poor.content.decode()
    unknown = client.post("/me/rewards/", {"reward": "nope", "key": "b" * 32})
    assert unknown.status_code == 400 and "Награды с таким кодом нет." in unknown.content.decode()
    stale = client.post("/me/rewards/", {"reward": "mug", "key": "<x>"})
    assert stale.status_code == 400 and "Страница устарела" in stale.content.decode()
    assert not Voucher.objects.exists() and member_points(anna.pk, clock.now())[0] == 100


def test_nobody_else_opens_a_members_voucher() -> None:
    anna, boris = enroll("+79161234567"), enroll("+79161234568")
    points_move(anna.pk, earn=300)
    reward("cap", 250)
    client = logged_in(anna)
    key = form_key(client.get("/me/rewards/").content.decode(), "cap")
    client.post("/me/rewards/", {"reward": "cap", "key": key})
    code = Voucher.objects.get().code
    other = logged_in(boris)
    assert other.get(f"/me/vouchers/{code}/").status_code == 404
    assert other.get(f"/me/vouchers/{code}/qr.svg").status_code == 404
    assert code not in other.get("/me/rewards/").content.decode()
    assert Client().get(f"/me/vouchers/{code}/").url == "/login/"
