from django.http import HttpRequest
from ninja.security import HttpBearer

from kopilka.pos.terminals import TerminalPrincipal, terminal_authenticate


class TerminalAuth(HttpBearer):
    """Authorization: Bearer <terminal API key>."""

    def authenticate(self, request: HttpRequest, token: str) -> TerminalPrincipal | None:
        return terminal_authenticate(token)


def terminal_of(request: HttpRequest) -> TerminalPrincipal:
    principal = request.auth  # type: ignore[attr-defined]
    assert isinstance(principal, TerminalPrincipal)
    return principal
