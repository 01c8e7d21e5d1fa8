import pytest

from kopilka.ledger.selectors import member_balance
from kopilka.pos.models import PurchaseReturn
from tests.api.test_purchases_api import give_points
from tests.conftest import Api, assert_ledger_clean, enroll, receipt

pytestmark = pytest.mark.django_db


def buy(
    api: Api,
    member_id: int,
    *lines: tuple[str, str, str],
    redeem: int | str = 0,
    number: str = "P1",
) -> dict:
    body = receipt(*lines, member_id=member_id, receipt_number=number, redeem_points=redeem)
    response = api.post("/purchases", body, idempotency_key=f"buy-{number}")
    assert response.status_code == 201, response.content
    return response.json()


def give_back(api: Api, purchase_id: int, *lines: tuple[str, str], key: str) -> object:
    body = {"lines": [{"sku": sku, "quantity": qty} for sku, qty in lines]}
    return api.post(f"/purchases/{purchase_id}/returns", body, idempotency_key=key)


def test_returning_one_of_two_coffees_takes_back_a_proportional_share(api: Api) -> None:
    # given a 1,000 ₽ purchase (two 250 ₽ coffees and a 500 ₽ cake) that earned 50 points
    member = enroll()
    purchase = buy(api, member.pk, ("COF1", "2", "250.00"), ("CAKE", "1", "500.00"))
    assert purchase["totals"]["earn_points"] == 50
    # when one coffee comes back
    response = give_back(api, purchase["id"], ("COF1", "1"), key="r1")
    # then half of the coffee line's 25 points, rounded down, are taken back
    assert response.status_code == 201, response.content
    assert response.json()["earn_points_reversed"] == 12
    assert response.json()["amount"] == "250.00"
    assert member_balance(member.pk).available == 38
    assert_ledger_clean()


def test_partial_returns_add_up_to_the_whole_purchase(api: Api) -> None:
    member = enroll()
    give_points(api, member.pk, 300)
    purchase = buy(api, member.pk, ("TEA", "3", "333.33"), redeem="max")
    redeemed, earned = purchase["totals"]["redeem_points"], purchase["totals"]["earn_points"]
    assert redeemed == 299
    for number in range(3):
        assert give_back(api, purchase["id"], ("TEA", "1"), key=f"part{number}").status_code == 201
    returns = PurchaseReturn.objects.filter(purchase_id=purchase["id"])
    assert sum(r.redeem_refunded for r in returns) == redeemed
    assert sum(r.earn_reversed for r in returns) == earned
    assert member_balance(member.pk).available == 300
    assert_ledger_clean()


def test_returning_more_than_was_bought_is_refused(api: Api) -> None:
    member = enroll()
    purchase = buy(api, member.pk, ("COF1", "2", "250.00"))
    assert give_back(api, purchase["id"], ("COF1", "1"), key="ok").status_code == 201
    response = give_back(api, purchase["id"], ("COF1", "2"), key="too-many")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "return_exceeds_purchase"
    assert "COF1" in response.json()["error"]["fields"]
    unknown = give_back(api, purchase["id"], ("NOPE", "1"), key="unknown")
    assert unknown.status_code == 422
    assert PurchaseReturn.objects.count() == 1


def test_refunded_points_keep_their_original_expiry(api: Api) -> None:
    member = enroll()
    give_points(api, member.pk, 100)
    expiry_before = member_balance(member.pk).expiring[0].expires_at
    purchase = buy(api, member.pk, ("COF1", "1", "400.00"), redeem=100)
    give_back(api, purchase["id"], ("COF1", "1"), key="all")
    balance = member_balance(member.pk)
    assert balance.available == 100
    assert [e.expires_at for e in balance.expiring] == [expiry_before]
    assert_ledger_clean()


def test_points_already_spent_are_not_taken_below_zero(api: Api) -> None:
    # given 50 points earned on a purchase and then spent on the next one
    member = enroll()
    first = buy(api, member.pk, ("BIG", "1", "1000.00"), number="A")
    buy(api, member.pk, ("SMALL", "1", "200.00"), redeem=50, number="B")
    # when the first purchase comes back: 5 points remain (earned on B), 50 are owed
    response = give_back(api, first["id"], ("BIG", "1"), key="back")
    body = response.json()
    # then the member keeps a zero balance and the shortfall is reported, not hidden
    assert body["earn_points_reversed"] + body["points_not_recovered"] == 50
    assert member_balance(member.pk).available == 0
    assert_ledger_clean()


def test_a_replayed_return_changes_nothing(api: Api) -> None:
    member = enroll()
    purchase = buy(api, member.pk, ("COF1", "2", "250.00"))
    first = give_back(api, purchase["id"], ("COF1", "1"), key="same")
    second = give_back(api, purchase["id"], ("COF1", "1"), key="same")
    assert first.json() == second.json()
    assert PurchaseReturn.objects.count() == 1


def test_returns_of_an_unknown_purchase_are_404(api: Api) -> None:
    response = give_back(api, 999999, ("X", "1"), key="x")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "purchase_not_found"
