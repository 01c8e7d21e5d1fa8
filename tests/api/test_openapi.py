"""The OpenAPI schema tells the truth about what the API takes and answers."""

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_idempotency_key_is_required_where_it_is(schema: dict) -> None:
    for path in ("/api/v1/purchases", "/api/v1/purchases/{purchase_id}/returns"):
        (key,) = [p for p in schema["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert key["name"] == "Idempotency-Key" and key["required"] is True
        assert key["schema"]["maxLength"] == 255


def test_the_quantity_pattern_excludes_zero(schema: dict) -> None:
    pattern = schema["components"]["schemas"]["LineIn"]["properties"]["quantity"]["pattern"]
    accepted = {"1", "0.001", "2.5", "999999999.999", "0.5"}
    refused = {"0", "0.0", "0.000", "00", "-1", "1.0001", "９", "1e3", ""}
    assert {q for q in accepted | refused if re.fullmatch(pattern, q)} == accepted


def test_every_operation_lists_its_errors(schema: dict) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "404", "409", "422"} <= statuses, (method, path)


def test_the_member_reference_rule_is_in_the_schema(schema: dict) -> None:
    body = schema["components"]["schemas"]["PurchaseBody"]
    pairs = {tuple(rule["required"]) for rule in body["not"]["anyOf"]}
    assert pairs == {("member_id", "card_number"), ("member_id", "phone"), ("card_number", "phone")}
    assert "at most one of" in body["description"]


def test_a_created_purchase_links_to_its_returns(schema: dict) -> None:
    links = schema["paths"]["/api/v1/purchases"]["post"]["responses"]["201"]["links"]
    assert links["ReturnPurchase"]["parameters"] == {"purchase_id": "$response.body#/id"}
