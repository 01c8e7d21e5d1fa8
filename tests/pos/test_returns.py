import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connections, transaction

from kopilka.core import clock
from kopilka.core.models import AuditEntry
from kopilka.ledger import services as ledger
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import LotSpend, PointLot, Transfer
from kopilka.ledger.selectors import member_balance
from kopilka.pos import services as pos
from kopilka.pos.models import PurchaseReturn
from tests.api.test_purchases_api import give_points
from tests.conftest import Api, assert_ledger_clean, enroll, points_move, postgres_only, receipt

pytestmark = pytest.mark.django_db
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def on_day(day: int) -> object:
    """The clock moved to `day` days after START (business days change with it)."""
    return clock.frozen_at(START + timedelta(days=day))


def earned_lot(purchase_id: int) -> PointLot:
    return PointLot.objects.get(
        transfer__purchase_id=purchase_id, transfer__kind=Transfer.Kind.EARN
    )


def return_lots(return_id: int) -> dict[int, int]:
    """Points the return took, by lot id."""
    spends = LotSpend.objects.filter(transfer__purchase_return_id=return_id)
    return {s.lot_id: s.points for s in spends}


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
    # and with all three back, a fourth counts every earlier return and is refused
    fourth = give_back(api, purchase["id"], ("TEA", "1"), key="part3")
    assert (fourth.status_code, fourth.json()["error"]["code"]) == (422, "return_exceeds_purchase")
    assert returns.count() == 3
    assert_ledger_clean()


def test_uneven_partial_returns_count_every_earlier_return(api: Api) -> None:
    # given 7 items that earned 52 points (7 × 150 ₽ = 1,050 ₽, 5 %)
    member = enroll()
    purchase = buy(api, member.pk, ("BUN", "7", "150.00"))
    assert purchase["totals"]["earn_points"] == 52
    # when they come back 2, 1, 3 and 1 at a time
    taken = []
    for number, quantity in enumerate(["2", "1", "3", "1"]):
        response = give_back(api, purchase["id"], ("BUN", quantity), key=f"bun{number}")
        assert response.status_code == 201, response.content
        taken.append(response.json()["earn_points_reversed"])
    # then each return takes the cumulative share: floor(52 × 2/7) = 14, floor(52 × 3/7) - 14
    # = 8, floor(52 × 6/7) - 22 = 22, and the rest
    assert taken == [14, 8, 22, 8]
    assert sum(taken) == 52
    assert member_balance(member.pk).available == 0
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
    # when the first purchase comes back: 7 points remain (earned on B's 150 ₽), 50 are owed
    response = give_back(api, first["id"], ("BIG", "1"), key="back")
    body = response.json()
    # then the member keeps a zero balance and the shortfall is reported, not hidden
    assert (body["earn_points_reversed"], body["points_not_recovered"]) == (7, 43)
    assert member_balance(member.pk).available == 0
    # and the stored return says the same as the answer: analytics and liability read the row
    row = PurchaseReturn.objects.get(pk=body["id"])
    assert (row.earn_reversed, row.earn_not_recovered, row.redeem_refunded) == (7, 43, 0)
    audit = AuditEntry.objects.get(action="purchase.return", target_id=first["id"])
    assert audit.data["take_back"] == 7
    assert_ledger_clean()


def test_refunded_points_keep_their_expiry_when_the_return_comes_months_later(api: Api) -> None:
    # given 100 points earned on day 0 (valid 365 days) and spent on day 100
    member = enroll()
    with on_day(0):
        give_points(api, member.pk, 100)
    seed_lot = PointLot.objects.get(member=member)
    with on_day(100):
        purchase = buy(api, member.pk, ("COF1", "1", "400.00"), redeem=100)
    # when the purchase comes back on day 200
    with on_day(200):
        response = give_back(api, purchase["id"], ("COF1", "1"), key="late")
    assert response.status_code == 201, response.content
    assert response.json()["redeem_points_refunded"] == 100
    # then the refunded points expire when the day-0 points would have, not 365 days after the return
    refund_lot = PointLot.objects.get(transfer__purchase_return_id=response.json()["id"])
    assert (refund_lot.points, refund_lot.remaining) == (100, 100)
    assert refund_lot.expires_at == seed_lot.expires_at
    assert refund_lot.expires_at == clock.days_later_midnight(START, 366)
    with on_day(200):
        balance = member_balance(member.pk)
    assert (balance.available, [e.expires_at for e in balance.expiring]) == (
        100,
        [seed_lot.expires_at],
    )
    assert_ledger_clean()


def test_refunded_points_spent_from_two_lots_expire_with_the_later_one(api: Api) -> None:
    # given 60 points earned on day 0 and 60 on day 30, of which 100 are spent on day 40
    member = enroll()
    with on_day(0):
        give_points(api, member.pk, 60, number="early")
    with on_day(30):
        give_points(api, member.pk, 60, number="late")
    early, late = PointLot.objects.filter(member=member).order_by("expires_at")
    with on_day(40):
        purchase = buy(api, member.pk, ("COF1", "1", "400.00"), redeem=100)
    assert (early.points, late.points) == (60, 60)
    # when the purchase comes back
    with on_day(50):
        response = give_back(api, purchase["id"], ("COF1", "1"), key="both")
    assert response.status_code == 201, response.content
    # then the 100 refunded points live as long as the later of the two lots that paid
    refund_lot = PointLot.objects.get(transfer__purchase_return_id=response.json()["id"])
    assert refund_lot.points == 100
    assert refund_lot.expires_at == late.expires_at > early.expires_at
    assert_ledger_clean()


def test_a_return_takes_back_the_purchases_own_points_before_older_ones(api: Api) -> None:
    # given 100 older points (expiring first) and a purchase that earned 50 of its own
    member = enroll()
    with on_day(0):
        give_points(api, member.pk, 100)
    older = PointLot.objects.get(member=member)
    with on_day(10):
        purchase = buy(api, member.pk, ("BIG", "1", "1000.00"))
    own = earned_lot(purchase["id"])
    assert (own.points, older.expires_at < own.expires_at) == (50, True)
    # when the purchase comes back
    with on_day(20):
        response = give_back(api, purchase["id"], ("BIG", "1"), key="own")
    assert response.json()["earn_points_reversed"] == 50
    # then the 50 come out of the purchase's own lot; the older points are untouched
    older.refresh_from_db()
    own.refresh_from_db()
    assert (older.remaining, own.remaining) == (100, 0)
    assert return_lots(response.json()["id"]) == {own.pk: 50}
    assert_ledger_clean()


def test_a_return_takes_the_rest_from_its_own_refund_before_other_points(api: Api) -> None:
    # given a purchase that spent 100 points and earned 45, of which 40 were spent on the next one
    member = enroll()
    with on_day(0):
        give_points(api, member.pk, 100)
    with on_day(10):
        purchase = buy(api, member.pk, ("BIG", "1", "1000.00"), redeem=100, number="P")
    own = earned_lot(purchase["id"])
    with on_day(20):
        later = buy(api, member.pk, ("SMALL", "1", "200.00"), redeem=40, number="Q")
    other = earned_lot(later["id"])
    own.refresh_from_db()
    assert (own.remaining, other.remaining) == (5, 8)
    # when the first purchase comes back: 100 refunded, 45 taken back
    with on_day(30):
        response = give_back(api, purchase["id"], ("BIG", "1"), key="p")
    body = response.json()
    assert (body["redeem_points_refunded"], body["earn_points_reversed"]) == (100, 45)
    # then 5 come from its own lot, 40 from the refund, none from the other purchase's points
    refund_lot = PointLot.objects.get(transfer__purchase_return_id=body["id"])
    other.refresh_from_db()
    assert return_lots(body["id"]) == {own.pk: 5, refund_lot.pk: 40}
    assert (refund_lot.remaining, other.remaining) == (60, 8)
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


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_return_waits_for_the_members_lock_before_reading_their_points(
    api: Api, terminal
) -> None:
    # given a purchase that earned 50 points, the member's only points
    member = enroll()
    purchase = buy(api, member.pk, ("BIG", "1", "1000.00"))
    holding, release = threading.Event(), threading.Event()

    def spend_them_under_the_lock() -> None:
        # another till holds the member's lock and spends the 50 points while the return waits
        try:
            with transaction.atomic():
                ledger.member_lock(member.pk)
                holding.set()
                release.wait(10)
                points_move(member.pk, spend=50)
        finally:
            connections.close_all()

    def return_the_purchase() -> PurchaseReturn:
        try:
            return pos.purchase_return(
                seller=terminal[0].seller,
                purchase_id=purchase["id"],
                lines=[pos.ReturnRequestLine(sku="BIG", quantity=Decimal(1))],
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        spender = pool.submit(spend_them_under_the_lock)
        assert holding.wait(10)
        returner = pool.submit(return_the_purchase)
        time.sleep(1.0)  # the return is now waiting for the member's lock
        release.set()
        spender.result()
        record = returner.result()
    # then the return read the points after the spend: nothing left to take, 50 not recovered
    assert (record.earn_reversed, record.earn_not_recovered) == (0, 50)
    assert member_balance(member.pk).available == 0
    assert ledger_problems() == []
