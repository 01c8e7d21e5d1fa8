"""Domain errors: services raise them, the API answers `status` with `body()`.

A refusal's body is built here, not in the API layer, because an idempotent request stores the
refusal it got and replays it to every retry (`core.idempotency`).
"""

from typing import Any


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The API's one error shape: {"error": {"code", "message", "fields"}}."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class DomainError(Exception):
    code = "domain_error"
    status = 422

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **params: object):
        super().__init__(message)
        self._message = message
        self.fields = fields or {}
        self.params = params

    @property
    def message(self) -> str:
        """What a person reads: the API body, a form error, a command's output."""
        return self.describe()[0]

    def describe(self) -> tuple[str, dict[str, str]]:
        """The message and field messages in the current language (subclasses word them late)."""
        return self._message, self.fields

    def body(self) -> dict[str, Any]:
        message, fields = self.describe()
        return error_body(self.code, message, fields)


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    """Who asks is known, but their role does not allow this."""

    code = "forbidden"
    status = 403
