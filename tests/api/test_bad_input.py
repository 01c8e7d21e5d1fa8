"""Bad input gets a clear JSON 4xx and changes nothing: never a 500, never a half-written row."""

import json
from typing import Any

import pytest
from django.test import Client

from kopilka.core.models import IdempotencyRecord
from kopilka.members.models import Member
from kopilka.pos.models import Purchase
from tests.conftest import Api, enroll, receipt

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not Purchase.objects.exists() and not IdempotencyRecord.objects.exists()


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    return error


def line(**changes: str) -> dict[str, str]:
    return {
        "sku": "COF",
        "name": "Кофе",
        "category": "coffee",
        "quantity": "1",
        "price": "100.00",
    } | changes


BAD_BODIES = {
    "NUL in a SKU": {"lines": [line(sku="CO\x00F")]},
    "NUL in a name": {"lines": [line(name="Ко\x00фе")]},
    "NUL in a category": {"lines": [line(category="\x00")]},
    "NUL in the store": {"store": "cen\x00tral"},
    "NUL in the phone": {"phone": "+7916\x001234567"},
    "a bidi override in a name": {"lines": [line(name="Кофе\u202eэкспрессо")]},
    "a lone surrogate in a name": {"lines": [line(name="\ud800")]},
    "an empty SKU": {"lines": [line(sku="")]},
    "a blank SKU": {"lines": [line(sku="   ")]},
    "full-width digits in a quantity": {"lines": [line(quantity="９")]},
    "Arabic-Indic digits in a price": {"lines": [line(price="٣٠٠")]},
    "a zero quantity": {"lines": [line(quantity="0.000")]},
    "member_id true": {"member_id": True},
    "member_id beyond 64 bits": {"member_id": 2**64},
    "redeem_points as a string": {"redeem_points": "10"},
    "full-width digits in a card": {"card_number": "１２３４５６７８"},
}


@pytest.mark.parametrize("changes", BAD_BODIES.values(), ids=BAD_BODIES.keys())
@pytest.mark.parametrize("path", ["/purchases", "/receipts/calculate"])
def test_a_bad_field_is_a_validation_error(api: Api, path: str, changes: dict) -> None:
    body = {**receipt(("COF", "1", "100.00"), receipt_number="B1"), **changes}
    response = api.post(path, body, idempotency_key="bad")
    assert response.status_code == 422, response.content
    assert error_of(response)["code"] == "validation_error"
    assert nothing_written()


def test_a_receipt_number_is_plain_text(api: Api) -> None:
    body = receipt(("COF", "1", "100.00"), receipt_number="A\x00")
    response = api.post("/purchases", body, idempotency_key="bad")
    assert (response.status_code, error_of(response)["code"]) == (422, "validation_error")
    assert nothing_written()


@pytest.mark.parametrize("path", ["/purchases", "/receipts/calculate"])
def test_amounts_beyond_the_receipt_limit_are_refused(api: Api, path: str) -> None:
    # a quantity and price whose product is beyond a 64-bit number of kopecks
    body = receipt(("COF", "999999999.999", "9999999999.99"), receipt_number="huge")
    response = api.post(path, body, idempotency_key="huge", language="ru")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "receipt_amount_too_large"
    assert "1000000.00" in error["message"] and "₽" in error["message"]
    assert not Purchase.objects.exists()


def test_a_receipt_at_the_limit_goes_through(api: Api, settings: Any) -> None:
    settings.KOPILKA_MAX_RECEIPT_AMOUNT = 100_000
    at_limit = receipt(("A", "1", "1000.00"), receipt_number="L1")
    assert api.post("/purchases", at_limit, idempotency_key="l1").status_code == 201
    over = receipt(("A", "1", "1000.01"), receipt_number="L2")
    assert api.post("/purchases", over, idempotency_key="l2").status_code == 422


def test_a_body_over_the_upload_limit_is_413(api: Api) -> None:
    big = receipt(("COF", "1", "100.00"), receipt_number="x" * 10, padding="x" * 3_000_000)
    response = api.post("/purchases", big, idempotency_key="big")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert nothing_written()


def test_an_over_long_address_is_a_json_414(api: Api) -> None:
    response = api.get("/members/lookup", phone="+7" + "9" * 5000)
    assert response.status_code == 414
    assert error_of(response)["code"] == "uri_too_long"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_only_json_bodies_are_read(api: Api, content_type: str) -> None:
    body = json.dumps(receipt(("COF", "1", "100.00"), receipt_number="T1"))
    response = api.client.post(
        "/api/v1/purchases",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": "t1"},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert nothing_written()


def test_json_with_a_charset_is_json(api: Api) -> None:
    response = api.client.post(
        "/api/v1/purchases",
        json.dumps(receipt(("COF", "1", "100.00"), receipt_number="T2")),
        content_type="application/json; charset=utf-8",
        headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": "t2"},
    )
    assert response.status_code == 201


def test_unparseable_json_is_a_russian_bad_request(api: Api) -> None:
    response = api.post("/purchases", "{not json", raw=True, idempotency_key="j", language="ru")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_request" and "JSON" in error["message"]
    assert error["message"] != "Cannot parse request body"


@pytest.mark.parametrize("key", ["a\x00b", "ключ", "a b", "x" * 256])
def test_an_idempotency_key_is_visible_ascii(api: Api, key: str) -> None:
    body = receipt(("COF", "1", "100.00"), receipt_number="K1")
    response = api.client.post(
        "/api/v1/purchases",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": key},
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_required"
    assert nothing_written()


def test_an_idempotency_conflict_speaks_russian(api: Api) -> None:
    first = receipt(("COF", "1", "100.00"), receipt_number="C1")
    assert api.post("/purchases", first, idempotency_key="c").status_code == 201
    other = receipt(("COF", "1", "200.00"), receipt_number="C2")
    response = api.post("/purchases", other, idempotency_key="c", language="ru")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "idempotency_conflict"
    assert "Idempotency-Key" in error["message"] and not error["message"].startswith("This")


@pytest.mark.parametrize(
    "params",
    [{}, {"phone": "+79161234567", "card": "12345678"}, {"phone": "\x00"}, {"card": "12ab"}],
    ids=["neither", "both", "NUL", "letters"],
)
def test_lookup_needs_exactly_one_valid_reference(api: Api, params: dict) -> None:
    enroll()
    response = api.get("/members/lookup", **params)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize(
    "path", ["/members/99999999999999999999", "/members/0", "/members/９/transactions"]
)
def test_an_id_beyond_the_database_is_a_validation_error(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_a_return_of_an_impossible_purchase_id_is_a_validation_error(api: Api) -> None:
    response = api.post(
        "/purchases/99999999999999999999/returns",
        {"lines": [{"sku": "A", "quantity": "1"}]},
        idempotency_key="r",
    )
    assert response.status_code == 422
    assert nothing_written()


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Анна\x00"},
        {"phone": "+7９１６1234567"},
        {"email": "a\x00@b.ru"},
        {"name": "\u2066x"},
    ],
    ids=["NUL name", "full-width phone", "NUL email", "bidi name"],
)
def test_enrolment_refuses_bad_text(api: Api, changes: dict) -> None:
    body = {"phone": "+79161234567", "name": "Анна", "consents": {"personal_data": True}}
    response = api.post("/members", {**body, **changes})
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert not Member.objects.exists()


def test_an_unauthenticated_long_address_is_still_json() -> None:
    response = Client().get("/api/v1/" + "x" * 5000)
    assert response.status_code == 414
    assert error_of(response)["code"] == "uri_too_long"
