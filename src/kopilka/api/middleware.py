"""Errors raised outside our handlers (unknown path, wrong method) still get the API's JSON shape."""

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


class JsonApiErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
        body = {"error": {"code": code, "message": message, "fields": {}}}
        replacement = HttpResponse(
            json.dumps(body, ensure_ascii=False),
            status=response.status_code,
            content_type="application/json",
        )
        if response.has_header("Allow"):
            replacement["Allow"] = response["Allow"]
        return replacement
