"""A body the endpoint built itself, written as the API's renderer writes JSON.

The purchase commit answers with a body it already built (and stored for replays), so it skips
Ninja's second pass of validating and re-serialising it; the OpenAPI schema still documents it and
the schema tests check it.
"""

from django.http import HttpResponse

from kopilka.core.csp import JSON_POLICY
from kopilka.core.jsontext import JsonText, encode


def json_response(status: int, body: object) -> HttpResponse:
    return HttpResponse(
        body if isinstance(body, JsonText) else encode(body),
        status=status,
        content_type="application/json; charset=utf-8",
        headers={"Content-Security-Policy": JSON_POLICY},
    )
