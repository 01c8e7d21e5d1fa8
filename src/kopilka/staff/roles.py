"""Roles are Django groups (made by the migration `0002_roles`): owner, marketer, store manager,
cashier. The cashier screen asks for `staff.use_till`; a person works in the stores of their
profile (an owner, a superuser: in every store)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kopilka.pos.models import Store

OWNER, MARKETER, STORE_MANAGER, CASHIER = "owner", "marketer", "store_manager", "cashier"
ROLES = (OWNER, MARKETER, STORE_MANAGER, CASHIER)
USE_TILL = "staff.use_till"


def is_owner(user: Any) -> bool:
    return bool(user.is_superuser or user.groups.filter(name=OWNER).exists())


def stores_of(user: Any) -> list[Store]:
    """The stores this person works in, by name."""
    if is_owner(user):
        return list(Store.objects.order_by("name"))
    return list(Store.objects.filter(staff__user=user).order_by("name"))


# What each role may change, by app (owner: everything; cashier: the cashier screen only).
GRANTS = {
    MARKETER: ["program", "rewards", "campaigns", "messaging"],
    STORE_MANAGER: ["pos", "members"],
}


def roles_make(group_model: Any, permission_model: Any) -> None:
    """Make (or bring up to date) the role groups: by the migration with its historical models,
    and by anything that needs them after a test database was flushed."""
    till = permission_model.objects.get(content_type__app_label="staff", codename="use_till")
    owner, _made = group_model.objects.get_or_create(name=OWNER)
    owner.permissions.set(permission_model.objects.all())
    for name, labels in GRANTS.items():
        group, _made = group_model.objects.get_or_create(name=name)
        group.permissions.set(permission_model.objects.filter(content_type__app_label__in=labels))
    group_model.objects.get(name=STORE_MANAGER).permissions.add(till)
    cashier, _made = group_model.objects.get_or_create(name=CASHIER)
    cashier.permissions.set([till])


View = Callable[..., HttpResponse]


def till_required(view: View) -> View:
    """Logged-in staff with the cashier screen's permission; others see why not (403)."""

    @wraps(view)
    @login_required(login_url="admin:login")
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.has_perm(USE_TILL) or is_owner(request.user)):
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def is_manager(user: Any) -> bool:
    return bool(is_owner(user) or user.groups.filter(name=STORE_MANAGER).exists())


def manager_required(view: View) -> View:
    """A store manager (their stores) or the owner (every store)."""

    @wraps(view)
    @login_required(login_url="admin:login")
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def materials_required(view: View) -> View:
    """The owner, a marketer or a store manager (the printed materials of their stores)."""

    @wraps(view)
    @login_required(login_url="admin:login")
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        allowed = is_owner(user) or user.groups.filter(name__in=[MARKETER, STORE_MANAGER]).exists()
        if not allowed:
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: View) -> View:
    @wraps(view)
    @login_required(login_url="admin:login")
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_owner(request.user):
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def analytics_required(view: View) -> View:
    """The back office's analytics and what-if: the owner, marketers and store managers (staff
    login first, as the admin's pages ask)."""

    @wraps(view)
    @staff_member_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        allowed = is_owner(user) or user.groups.filter(name__in=[MARKETER, STORE_MANAGER]).exists()
        if not allowed:
            return render(request, "staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
