"""Shared API shapes: money as decimal strings, balances, error bodies."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, StringConstraints

MoneyStr = Annotated[str, StringConstraints(pattern=r"^\d{1,10}(\.\d{1,2})?$")]


def _positive(quantity: str) -> str:
    if Decimal(quantity) <= 0:
        raise ValueError(_("The quantity must be greater than zero."))
    return quantity


QuantityStr = Annotated[
    str, StringConstraints(pattern=r"^\d{1,9}(\.\d{1,3})?$"), AfterValidator(_positive)
]


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


ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
