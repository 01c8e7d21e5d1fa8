"""Schemathesis hooks for scripts/api_fuzz.py: checks of our own beside `--checks all`."""

import schemathesis
from hypothesis.internal import lambda_sources

# CPython 3.11.7's parser can raise "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905, fixed in later releases) when Hypothesis parses a lambda's source to
# name it in a message; the run then stops with a runtime error that says nothing about our API.
# A lambda it cannot name is described as Hypothesis describes any lambda without source.
_describe = lambda_sources._lambda_description


def _lambda_description(f):  # type: ignore[no-untyped-def]
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description

# The codes of a request the API could not read; a request the schema calls valid must get a
# business answer instead (success, not found, a refusal by the rules).
UNREADABLE = {
    "validation_error",
    "bad_request",
    "unsupported_media_type",
    "payload_too_large",
    "uri_too_long",
    "idempotency_key_required",
}


# Rules OpenAPI has no words for, described in the operation instead: query parameters that
# depend on each other (exactly one of phone and card).
# A birth date from 1900-01-01 to today: JSON Schema's dates have no bounds, and "today" moves.
BEYOND_OPENAPI = {
    ("GET", "/api/v1/members/lookup"): {"query"},
    ("POST", "/api/v1/members"): {"birth_date"},
}


@schemathesis.check
def valid_requests_are_read(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    """A schema-valid request is never refused as unreadable: the schema tells the truth."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return  # the error body's shape is the schema checks' business
    fields = set(response.json()["error"].get("fields") or {})
    known = BEYOND_OPENAPI.get((case.method.upper(), case.operation.path), set())
    if code == "validation_error" and fields and fields <= known:
        return
    if code in UNREADABLE:
        raise AssertionError(
            f"a request valid by the schema was refused as unreadable: {code} "
            f"{response.json()['error'].get('fields')}"
        )
