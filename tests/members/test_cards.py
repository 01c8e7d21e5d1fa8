import pytest

from kopilka.core.audit import Actor
from kopilka.core.errors import Conflict
from kopilka.core.ids import luhn_check_digit, luhn_valid, new_card_number
from kopilka.members.models import Card, Member
from kopilka.members.services import card_block, card_replace
from tests.api.test_purchases_api import give_points
from tests.conftest import Api, enroll, receipt

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def test_card_numbers_carry_a_luhn_check_digit() -> None:
    numbers = {new_card_number() for _ in range(200)}
    assert len(numbers) == 200
    assert all(len(n) == 16 and luhn_valid(n) for n in numbers)
    assert luhn_check_digit("7992739871") == "3"  # the textbook example
    assert not luhn_valid("79927398710")


def test_replacing_a_lost_card_keeps_the_balance(api: Api) -> None:
    member = enroll()
    give_points(api, member.pk, 120)
    old = member.cards.get()
    new = card_replace(card_id=old.pk, actor=SYSTEM)
    old.refresh_from_db()
    assert old.status == Card.Status.BLOCKED and old.replaced_by == new
    assert api.get("/members/lookup", card=old.number).status_code == 404
    found = api.get("/members/lookup", card=new.number).json()
    assert found["id"] == member.pk
    assert found["card_number"] == new.number
    assert found["balance"]["available"] == 120
    with pytest.raises(Conflict):
        card_replace(card_id=old.pk, actor=SYSTEM)


def test_a_blocked_card_cannot_pay(api: Api) -> None:
    member = enroll()
    card = member.cards.get()
    card_block(card_id=card.pk, actor=SYSTEM)
    response = api.post(
        "/receipts/calculate", receipt(("A", "1", "100.00"), card_number=card.number)
    )
    assert response.status_code == 404


def test_a_blocked_member_neither_earns_nor_spends(api: Api) -> None:
    member = enroll()
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    response = api.post(
        "/purchases",
        receipt(("A", "1", "100.00"), member_id=member.pk, receipt_number="1"),
        idempotency_key="b",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "member_inactive"
