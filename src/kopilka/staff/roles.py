"""Roles are Django groups (made by the migration `0002_roles`): owner, marketer, store manager,
cashier. The cashier screen asks for `staff.use_till`; a person works in the stores of their
profile (an owner, a superuser: in every store)."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

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


def _in(user: Any, *roles: str) -> bool:
    return bool(is_owner(user) or user.groups.filter(name__in=roles).exists())


def can_use_till(user: Any) -> bool:
    return bool(user.has_perm(USE_TILL) or is_owner(user))


def is_manager(user: Any) -> bool:
    return _in(user, STORE_MANAGER)


def is_marketer(user: Any) -> bool:
    """The program, rewards, templates and campaigns."""
    return _in(user, MARKETER)


def has_role(user: Any) -> bool:
    """Any of the four roles (a superuser counts as the owner)."""
    return _in(user, *ROLES)


# The roles as a person reads them.
ROLE_NAMES = {
    OWNER: gettext_lazy("Owner"),
    MARKETER: gettext_lazy("Marketer"),
    STORE_MANAGER: gettext_lazy("Store manager"),
    CASHIER: gettext_lazy("Cashier"),
}


def roles_of(user: Any) -> list[str]:
    """The person's roles, in the order of ROLES (a superuser: the owner)."""
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        names.add(OWNER)
    return [role for role in ROLES if role in names]


def sees_back_office(user: Any) -> bool:
    """The analytics, the what-if and the printed materials."""
    return _in(user, MARKETER, STORE_MANAGER)


@dataclass(frozen=True)
class Need:
    """Who may open a page or call an operation: a predicate above and the roles it lets in
    (the owner's included), to say so to those it refuses."""

    allowed: Callable[[Any], bool]
    roles: tuple[str, ...]

    def names(self) -> list[str]:
        return [str(ROLE_NAMES[role]) for role in ROLES if role in self.roles]


ANY_ROLE = Need(has_role, ROLES)
TILL = Need(can_use_till, (OWNER, STORE_MANAGER, CASHIER))
MANAGING = Need(is_manager, (OWNER, STORE_MANAGER))
BACK_OFFICE = Need(sees_back_office, (OWNER, MARKETER, STORE_MANAGER))
MARKETING = Need(is_marketer, (OWNER, MARKETER))
OWNING = Need(is_owner, (OWNER,))


def role_required(need: Need, *, staff_login: bool = False) -> Callable[[View], View]:
    """Logged-in staff whom `need` lets in; others see why not (403): the roles the page is for
    and their own. `staff_login`: the admin's own check first (an `is_staff` account), as the
    back office's pages had."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not need.allowed(request.user):
                own = [ROLE_NAMES[role] for role in roles_of(request.user)]
                context = {"needed": need.names(), "own": own}
                return render(request, "staff/forbidden.html", context, status=403)
            return view(request, *args, **kwargs)

        login = staff_member_required if staff_login else login_required(login_url="admin:login")
        return login(wrapper)

    return decorate


till_required = role_required(TILL)
manager_required = role_required(MANAGING)
materials_required = role_required(BACK_OFFICE)
owner_required = role_required(OWNING)
analytics_required = role_required(BACK_OFFICE, staff_login=True)
marketer_required = role_required(MARKETING, staff_login=True)


def back_office_nav(request: HttpRequest) -> dict[str, Any]:
    """Which back-office sections the person may open (a context processor: worked out only
    when a page's navigation asks)."""

    def sections() -> dict[str, bool]:
        user = request.user
        return {
            "analytics": sees_back_office(user),
            "program": is_marketer(user),
            "staff": is_manager(user),
            "audit": is_owner(user),
        }

    return {"nav": SimpleLazyObject(sections)}
