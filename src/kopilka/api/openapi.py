"""What the generated OpenAPI schema cannot say by itself.

- `Idempotency-Key` is required on the commits: the endpoints take it as optional only to answer
  its absence with our own 400 `idempotency_key_required` instead of a generic validation error.
- Links: the id a response returns is what the next call takes (a new member's id for its
  balance, purchases and rewards, a purchase's id for its returns, a what-if run's id for its
  progress). Integrators read them as the workflow; Schemathesis' stateful phase follows them.
"""

from typing import Any

from kopilka.api.schemas import IDEMPOTENCY_KEY_SCHEMA

KEY_REQUIRED = {
    ("post", "/api/v1/purchases"),
    ("post", "/api/v1/purchases/{purchase_id}/returns"),
    ("post", "/api/v1/members/{member_id}/rewards/{code}/exchange"),
}

_MEMBER_ID = "$response.body#/id"
LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("post", "/api/v1/members", "201"): {
        "GetMember": {
            "operationId": "kopilka_members_api_members_get",
            "parameters": {"member_id": _MEMBER_ID},
        },
        "GetTransactions": {
            "operationId": "kopilka_members_api_members_transactions",
            "parameters": {"member_id": _MEMBER_ID},
        },
        "LookupByPhone": {
            "operationId": "kopilka_members_api_members_lookup",
            "parameters": {"phone": "$response.body#/phone"},
        },
        "GetRewards": {
            "operationId": "kopilka_rewards_api_members_rewards",
            "parameters": {"member_id": _MEMBER_ID},
        },
        "GetTierChanges": {
            "operationId": "kopilka_members_api_members_tier_changes",
            "parameters": {"member_id": _MEMBER_ID},
        },
    },
    ("get", "/api/v1/members/{member_id}", "200"): {
        "GetTransactions": {
            "operationId": "kopilka_members_api_members_transactions",
            "parameters": {"member_id": _MEMBER_ID},
        },
    },
    ("post", "/api/v1/purchases", "201"): {
        "ReturnPurchase": {
            "operationId": "kopilka_pos_api_purchases_return",
            "parameters": {"purchase_id": "$response.body#/id"},
        },
    },
    ("post", "/api/v1/staff/program/simulations", "202"): {
        "FollowSimulation": {
            "operationId": "kopilka_staff_api_simulations_get",
            "parameters": {"simulation_id": "$response.body#/id"},
        },
    },
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the required keys and the links filled in (changed in place)."""
    for (method, path), operation in _operations(schema):
        if (method, path) in KEY_REQUIRED:
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                    parameter["required"] = True
                    parameter["schema"] = IDEMPOTENCY_KEY_SCHEMA
        for status, response in operation.get("responses", {}).items():
            if links := LINKS.get((method, path, str(status))):
                response["links"] = links
    return schema


def _operations(schema: dict[str, Any]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    return [
        ((method, path), operation)
        for path, operations in schema.get("paths", {}).items()
        for method, operation in operations.items()
    ]
