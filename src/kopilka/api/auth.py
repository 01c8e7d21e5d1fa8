from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from kopilka.api.errors import Unauthenticated
from kopilka.pos.terminals import TerminalPrincipal, terminal_authenticate
from kopilka.staff.tokens import staff_token_authenticate


class TerminalAuth(HttpBearer):
    """Authorization: Bearer <terminal API key>."""

    def authenticate(self, request: HttpRequest, token: str) -> TerminalPrincipal | None:
        return terminal_authenticate(token)


def terminal_of(request: HttpRequest) -> TerminalPrincipal:
    principal = request.auth  # type: ignore[attr-defined]
    assert isinstance(principal, TerminalPrincipal)
    return principal


class StaffTokenAuth(HttpBearer):
    """Authorization: Bearer <a person's staff API token>. Its own security scheme in the
    OpenAPI schema, beside the terminals' key."""

    openapi_bearerFormat = "ks_<prefix>_<secret>"
    openapi_description = (
        "Личный токен сотрудника: создаётся на странице «Мой профиль» в бэк-офисе "
        "(/backoffice/profile/) и действует с ролями сотрудника. "
        "A staff member's personal token: made on the back office's “My profile” page "
        "(/backoffice/profile/); it acts with the person's roles."
    )

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        if user is None:  # missing, malformed, wrong, revoked, or its person is inactive
            raise Unauthenticated(
                _("Send a valid staff token: Authorization: Bearer <token> (see My profile).")
            )
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return staff_token_authenticate(token)


def staff_of(request: HttpRequest) -> Any:
    """The staff user whose token the request carries."""
    user = request.auth  # type: ignore[attr-defined]
    assert user is not None and user.is_authenticated
    return user
