"""Domain errors: services raise them, the API maps `code` and `status` to the JSON error body."""


class DomainError(Exception):
    code = "domain_error"
    status = 422

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **params: object):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.params = params


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409
