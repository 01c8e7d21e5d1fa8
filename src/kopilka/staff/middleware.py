"""Staff sessions end after `KOPILKA_STAFF_IDLE_MINUTES` without a request: a till or an office
PC left open logs its user out. Members' own sessions (the member's page) are not staff logins."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

SEEN = "staff_seen"  # epoch seconds of the staff user's latest request
REFRESH_S = 60  # the session is written at most once a minute for this


class StaffIdleTimeout:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()  # wall time, not the business clock a test may freeze
            seen = request.session.get(SEEN)
            idle = settings.KOPILKA_STAFF_IDLE_MINUTES * 60
            if isinstance(seen, int | float) and now - seen > idle:
                logout(request)
                return redirect_to_login(request.get_full_path(), "admin:login")
            if not isinstance(seen, int | float) or now - seen > REFRESH_S:
                request.session[SEEN] = now
        return self.get_response(request)
