"""A JSON body encoded once: the purchase commit stores it with its idempotency key and sends the
same text as the answer (`api.responses.json_response` passes it through unchanged)."""

import json

from django.core.serializers.json import DjangoJSONEncoder


class JsonText(str):
    """Text that is already the JSON of a body."""


def encode(body: object) -> JsonText:
    return JsonText(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    )
