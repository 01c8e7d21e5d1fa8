"""Who is logged in to the member's page: a member id in the session, apart from staff logins."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from kopilka.members.models import Member

KEY = "portal_member_id"


def member_login(request: HttpRequest, member: Member) -> None:
    request.session.cycle_key()  # a new session id: one fixed before login is worthless
    request.session[KEY] = member.pk


def member_logout(request: HttpRequest) -> None:
    request.session.flush()


def current_member(request: HttpRequest) -> Member | None:
    member_id = request.session.get(KEY)
    if not isinstance(member_id, int):
        return None
    return Member.objects.filter(pk=member_id, status=Member.Status.ACTIVE).first()


View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """The view gets the logged-in member as its second argument; others go to the login."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = current_member(request)
        if member is None:
            return redirect("portal:login")
        return view(request, member, *args, **kwargs)

    return wrapper
