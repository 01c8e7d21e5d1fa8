"""The Idempotency-Key header every state-changing POST takes: one outcome per key."""

from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Header

from kopilka.api.schemas import idempotency_key_valid
from kopilka.core.errors import DomainError

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="A unique key per request; retries reuse it"),
]


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status = 400


def require_key(key: str | None) -> str:
    if key is None or not idempotency_key_valid(key):
        raise IdempotencyKeyRequired(
            _(
                "Send an Idempotency-Key header (1 to 255 visible ASCII characters), "
                "the same on every retry."
            ),
            fields={"Idempotency-Key": _("Required.")},
        )
    return key
