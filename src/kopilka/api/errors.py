"""One error format for the whole API: {"error": {"code", "message", "fields"}} with a 4xx status."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kopilka.core.errors import DomainError, error_body

log = logging.getLogger("kopilka.api")

# Where pydantic puts the request part first: drop it and the parameter name from field paths.
_LOCATION_HEADS = {"body", "query", "path", "header", "cookie", "form"}


class Unauthenticated(AuthenticationError):
    """A 401 that says which credential to send (an auth class raises it; the default
    message names the terminal key, the API's own)."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
) -> HttpResponse:
    return api.create_response(request, error_body(code, message, fields), status=status)


def payload_too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return _("The request body is larger than %(limit)d KB.") % {"limit": limit // 1024}


def _field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATION_HEADS:
        parts = parts[1:]
        if parts and parts[0] in {"body", "data", "payload"} and len(parts) > 1:
            parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


def _field_message(error: dict[str, Any]) -> str:
    """What is wrong with a field, in the request's language (pydantic words it in English)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our validators raise ValueError with a translated text
    params = {key: value for key, value in ctx.items() if isinstance(value, str | int | float)}
    text = _FIELD_MESSAGES.get(kind)
    try:
        return str(text) % params if text else _("Invalid value.")
    except (KeyError, TypeError, ValueError):
        return _("Invalid value.")


# pydantic's error types a request body can produce, worded for a person.
_FIELD_MESSAGES: dict[str, Promise] = {
    "missing": gettext_lazy("Required."),
    "too_short": gettext_lazy("At least %(min_length)s items."),
    "too_long": gettext_lazy("At most %(max_length)s items."),
    "string_too_short": gettext_lazy("At least %(min_length)s characters."),
    "string_too_long": gettext_lazy("At most %(max_length)s characters."),
    "string_pattern_mismatch": gettext_lazy("Wrong format."),
    "string_type": gettext_lazy("Must be a string."),
    "int_type": gettext_lazy("Must be a whole number."),
    "int_parsing": gettext_lazy("Must be a whole number."),
    "int_from_float": gettext_lazy("Must be a whole number."),
    "greater_than_equal": gettext_lazy("Must be at least %(ge)s."),
    "greater_than": gettext_lazy("Must be greater than %(gt)s."),
    "less_than_equal": gettext_lazy("Must be at most %(le)s."),
    "literal_error": gettext_lazy("Must be one of: %(expected)s."),
    "bool_type": gettext_lazy("Must be true or false."),
    "bool_parsing": gettext_lazy("Must be true or false."),
    "date_type": gettext_lazy("Must be a date, YYYY-MM-DD."),
    "date_parsing": gettext_lazy("Must be a date, YYYY-MM-DD."),
    "date_from_datetime_parsing": gettext_lazy("Must be a date, YYYY-MM-DD."),
    "list_type": gettext_lazy("Must be a list."),
    "model_type": gettext_lazy("Must be an object."),
    "dict_type": gettext_lazy("Must be an object."),
    "model_attributes_type": gettext_lazy("Must be an object."),
    "json_invalid": gettext_lazy("Not valid JSON."),
}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, str] = {}
        for error in exc.errors:
            fields.setdefault(_field_path(error.get("loc", ())), _field_message(error))
        return error_response(
            api, request, 422, "validation_error", _("The request has invalid fields."), fields
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = (
            exc.message
            if isinstance(exc, Unauthenticated)
            else _("Send a valid terminal key: Authorization: Bearer <key>.")
        )
        return error_response(api, request, 401, "unauthorized", message)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # Ninja raises HttpError(400) for a body it cannot parse; its text is English.
        if exc.status_code == 400:
            return error_response(
                api, request, 400, "bad_request", _("The request body is not valid JSON.")
            )
        return error_response(api, request, exc.status_code, f"http_{exc.status_code}", str(exc))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", _("Not found."))

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.body(), status=exc.status)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, 413, "payload_too_large", payload_too_large_message())

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error", extra={"path": request.path})
        return error_response(
            api, request, 500, "internal_error", _("Something went wrong on our side.")
        )
