"""A body the endpoint built itself, written as the API's renderer writes JSON.

The purchase commit answers with a body it already built (and stored for replays), so it skips
Ninja's second pass of validating and re-serialising it; the OpenAPI schema still documents it and
the schema tests check it.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse


def json_response(status: int, body: object) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )
