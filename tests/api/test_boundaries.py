"""A terminal acts for its own store only; one outcome per Idempotency-Key, refusals included;
a revoked key stops at once."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kopilka.core.audit import Actor
from kopilka.core.models import IdempotencyRecord
from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import member_balance
from kopilka.pos.models import PurchaseReturn, Terminal
from kopilka.pos.terminals import terminal_create
from tests.api.test_purchases_api import give_points
from tests.conftest import Api, assert_ledger_clean, enroll, receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_store(api: Api) -> Api:
    _terminal, key = terminal_create(
        store_code="north", store_name="Северный", actor=Actor.system("test")
    )
    return Api(client=api.client, key=key)


def test_another_stores_terminal_cannot_return_a_purchase(api: Api, other_store: Api) -> None:
    # given a purchase in the central store that earned 25 points
    member = enroll()
    body = receipt(("COF", "2", "250.00"), member_id=member.pk, receipt_number="R1")
    bought = api.post("/purchases", body, idempotency_key="buy").json()
    transfers = Transfer.objects.count()
    # when the north store's terminal tries to return it
    response = other_store.post(
        f"/purchases/{bought['id']}/returns",
        {"lines": [{"sku": "COF", "quantity": "1"}]},
        idempotency_key="ret",
    )
    # then the purchase is "not found" (its id is not even confirmed) and nothing moved
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "purchase_not_found"
    assert Transfer.objects.count() == transfers
    assert not PurchaseReturn.objects.exists()
    assert member_balance(member.pk).available == 25
    # and its own terminal still can
    own = api.post(
        f"/purchases/{bought['id']}/returns",
        {"lines": [{"sku": "COF", "quantity": "1"}]},
        idempotency_key="ret",
    )
    assert own.status_code == 201
    assert_ledger_clean()


def test_calculate_for_another_store_is_a_store_mismatch(api: Api) -> None:
    response = api.post("/receipts/calculate", receipt(("COF", "1", "100.00"), store="north"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "store_mismatch"


def test_a_refused_return_is_replayed_even_after_the_cause_goes_away(api: Api) -> None:
    # given a purchase of one coffee, and a return of two refused for its key
    member = enroll()
    body = receipt(("COF", "1", "250.00"), ("TEA", "1", "100.00"), member_id=member.pk)
    bought = api.post("/purchases", {**body, "receipt_number": "R2"}, idempotency_key="b").json()
    too_many = {"lines": [{"sku": "COF", "quantity": "2"}]}
    first = api.post(f"/purchases/{bought['id']}/returns", too_many, idempotency_key="r")
    assert (first.status_code, first.json()["error"]["code"]) == (422, "return_exceeds_purchase")
    # when the same request is retried with the same key
    retry = api.post(f"/purchases/{bought['id']}/returns", too_many, idempotency_key="r")
    # then it gets the same answer, byte for byte, and nothing was written
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert IdempotencyRecord.objects.get(key="r").status_code == 422
    assert not PurchaseReturn.objects.exists()


def test_a_member_not_found_is_one_outcome_of_its_key(api: Api) -> None:
    body = receipt(("COF", "1", "100.00"), phone="+79160000000", receipt_number="N1")
    first = api.post("/purchases", body, idempotency_key="nf")
    assert (first.status_code, first.json()["error"]["code"]) == (404, "member_not_found")
    enroll(phone="+79160000000")
    retry = api.post("/purchases", body, idempotency_key="nf")
    assert (retry.status_code, retry.json()) == (404, first.json())


def test_an_unreadable_request_is_not_stored(api: Api) -> None:
    body = receipt(("COF", "1", "-1.00"), receipt_number="V1")
    assert api.post("/purchases", body, idempotency_key="v").status_code == 422
    assert not IdempotencyRecord.objects.filter(key="v").exists()
    fixed = receipt(("COF", "1", "1.00"), receipt_number="V1")
    assert api.post("/purchases", fixed, idempotency_key="v").status_code == 201


def test_a_key_revoked_from_the_shell_stops_at_once(api: Api) -> None:
    # given a key that works (and was just used)
    assert api.get("/members/lookup", phone="+79161234567").status_code == 404
    # when the owner revokes it with the key at hand
    call_command("revoke_terminal", "--key", api.key)
    # then the very next request is refused, and the revoke is in the audit log
    response = api.get("/members/lookup", phone="+79161234567")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert Terminal.objects.get().revoked_at is not None
    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_terminal", "--key", api.key)
    with pytest.raises(CommandError):
        call_command("revoke_terminal", "--key", "kp_00000000_wrong")


def test_points_given_twice_with_one_key_are_given_once(api: Api) -> None:
    member = enroll()
    give_points(api, member.pk, 10)
    give_points(api, member.pk, 10)
    assert member_balance(member.pk).available == 10
