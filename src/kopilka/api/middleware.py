"""The API's edge: requests it can't read are refused before routing, and errors raised outside
our handlers (unknown path, wrong method) still get the API's JSON shape."""

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from kopilka.api.errors import payload_too_large_message
from kopilka.core.errors import error_body

API_PREFIX = "/api/"
# Longer than any address of ours with its query; servers in front cut at 4-8 KB anyway.
MAX_URL_LENGTH = 4096
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def json_error(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse(
        json.dumps(error_body(code, message), ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def request_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 413, 414 or 415 for a request the API won't read; None for one it will."""
    if len(request.path) + len(request.META.get("QUERY_STRING", "")) > MAX_URL_LENGTH:
        return json_error(
            414,
            "uri_too_long",
            _("The address is longer than %(limit)d characters.") % {"limit": MAX_URL_LENGTH},
        )
    if request.method not in _BODY_METHODS:
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return json_error(413, "payload_too_large", payload_too_large_message())
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if length and content_type != "application/json":
        return json_error(
            415,
            "unsupported_media_type",
            _("Send the body as JSON with Content-Type: application/json."),
        )
    return None


class JsonApiErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and (refusal := request_refusal(request)):
            return refusal
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 405:
            code, message = (
                "method_not_allowed",
                _("This method is not allowed here; use %(allowed)s.")
                % {"allowed": response.get("Allow", "")},
            )
        elif response.status_code == 404:
            code, message = "not_found", _("There is no such API address.")
        else:
            code, message = f"http_{response.status_code}", response.reason_phrase
        replacement = json_error(response.status_code, code, message)
        if response.has_header("Allow"):
            replacement["Allow"] = response["Allow"]
        return replacement
