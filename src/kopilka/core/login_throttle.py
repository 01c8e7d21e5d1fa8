"""Staff login throttling on top of django-axes: one limit per account, a higher one per IP.

Axes counts failures for each of its lockout parameters (here the username and the client IP)
but compares the worst of them with a single limit. An office behind one IP would then be locked
out by one person's typos, so the IP gets its own, higher limit: `get_failures` reports the
failures counted against the account limit, and an IP at its own limit counts as a full account.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class AccountAndIpLimits(AxesDatabaseHandler):
    """Locks an account after KOPILKA_LOGIN_FAILURES_PER_ACCOUNT failures, an IP after
    KOPILKA_LOGIN_FAILURES_PER_IP, both within the cool-off window (AXES_COOLOFF_TIME)."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        counts = {
            parameter: attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for parameter, attempts in zip(
                get_lockout_parameters(request, credentials),
                self.get_user_attempts(request, credentials),
                strict=True,
            )
        }
        # A form without a username would otherwise count every such attempt from everyone.
        by_account = counts["username"] if get_client_username(request, credentials) else 0
        account_limit: int = settings.AXES_FAILURE_LIMIT
        if counts["ip_address"] >= settings.KOPILKA_LOGIN_FAILURES_PER_IP:
            return max(by_account, account_limit)
        return int(by_account)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the proxy's header when KOPILKA_CLIENT_IP_HEADER
    names one. Of a list (X-Forwarded-For) the right-most entry is the one our proxy added;
    the entries left of it come from the client and can be anything."""
    header = settings.KOPILKA_CLIENT_IP_META_KEY
    if header:
        forwarded = request.META.get(header, "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            return entries[-1]
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """A readable page instead of axes' bare text; 429 like axes, so monitoring can count it."""
    return render(
        request,
        "core/locked_out.html",
        {"minutes": settings.KOPILKA_LOGIN_LOCKOUT_MINUTES},
        status=429,
    )
