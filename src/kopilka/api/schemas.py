"""Shared API shapes: money as decimal strings, balances, error bodies."""

import json
import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)
from pydantic import ValidationError as PydanticValidationError

# ASCII digits only: pydantic's \d would also match "９" or "٣", which Decimal reads as 9 and 3.
MoneyStr = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}),
]
# Greater than zero, at most 9 digits before the point and 3 after; the pattern itself excludes
# zero, so the OpenAPI schema says what the API accepts.
_QUANTITY = (
    r"^(0{0,8}[1-9][0-9]{0,8}(\.[0-9]{1,3})?|0{1,9}\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$"
)
_ZERO = re.compile(r"^0+(\.0+)?$")


def _quantity_message(value: object, handler: ValidatorFunctionWrapHandler) -> str:
    """A zero quantity is told so, rather than "wrong format" (the pattern excludes zero)."""
    try:
        result: str = handler(value)
    except PydanticValidationError as exc:
        if isinstance(value, str) and _ZERO.match(value):
            raise ValueError(_("The quantity must be greater than zero.")) from exc
        raise
    return result


QuantityStr = Annotated[
    str, StringConstraints(max_length=13, pattern=_QUANTITY), WrapValidator(_quantity_message)
]

# PostgreSQL's bigint: a larger id can name nothing, and must not reach the database.
MAX_ID = 2**63 - 1


def _number_not_text(value: object) -> object:
    """A JSON number, not a string of digits and not true/false (pydantic's lax mode takes
    "10" and true as integers); 40.0 is still 40, as JSON Schema's "integer" says."""
    if isinstance(value, str | bool):
        raise ValueError(_("Must be a whole number."))
    return value


# The bounds come before the check, so the schema says minimum/maximum.
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_number_not_text)]
Points = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_number_not_text)]

# Characters no name, SKU or category has: C0/C1 controls (NUL breaks PostgreSQL), lone
# surrogates (not encodable as UTF-8) and the bidirectional overrides that make a receipt line
# read differently from what it is (CVE-2021-42574, "Trojan Source").
# The same characters as a regular-expression class, for the OpenAPI schema (Cc is exactly
# U+0000-U+001F and U+007F-U+009F).
_FORBIDDEN = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _clean(value: str) -> str:
    for char in value:
        if char in _BIDI or unicodedata.category(char) in {"Cc", "Cs"}:
            raise ValueError(_("Control and text-direction characters are not allowed."))
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_("Must not be blank."))
    return value


def text(max_length: int, *, required: bool = False) -> Any:
    """A string field of plain text: no control or bidi characters; `required`: not blank.

    The validators word each problem; the schema states the same rule as a pattern."""
    pattern = (
        f"^[^{_FORBIDDEN}]*[^\\s{_FORBIDDEN}][^{_FORBIDDEN}]*$"
        if required
        else f"^[^{_FORBIDDEN}]*$"
    )
    checks = (
        (AfterValidator(_clean), AfterValidator(_not_blank))
        if required
        else (AfterValidator(_clean),)
    )
    schema = {
        "type": "string",
        "minLength": 1 if required else 0,
        "maxLength": max_length,
        "pattern": pattern,
    }
    return Annotated[
        str,
        StringConstraints(min_length=1 if required else 0, max_length=max_length),
        *checks,
        WithJsonSchema(schema),
    ]


def _encodable(value: dict[str, Any]) -> dict[str, Any]:
    """JSON's escapes can name lone surrogates ("\\ud800"), which no UTF-8 text can hold: the
    database could not store them, nor an answer quote them back."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ValueError(_("Control and text-direction characters are not allowed.")) from None
    return value


# A JSON object passed on whole (a program document): any shape, but text that UTF-8 can hold.
JsonObject = Annotated[dict[str, Any], AfterValidator(_encodable)]


# An Idempotency-Key: 1 to 255 visible ASCII characters. pos.api checks it, the schema states it.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN}


def idempotency_key_valid(key: str) -> bool:
    return re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) is not None


PHONE_PATTERN = r"^\+?[0-9][0-9 ()\-]{1,30}[0-9]$"
Phone = Annotated[
    str,
    StringConstraints(pattern=PHONE_PATTERN),
    WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN}),
]
CardNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,32}$")]


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorBody


class ExpiringOut(Schema):
    points: int
    expires_at: datetime


class BalanceOut(Schema):
    available: int
    pending: int
    expiring: list[ExpiringOut]


# Every error an operation can answer: 413 and 415 come from the request guard
# (api/middleware.py) before the body is read.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}
