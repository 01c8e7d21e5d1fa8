"""The staff member's own page (`/backoffice/profile/`): who they are, their roles and stores,
and their personal tokens for the staff API: made here (the key shown once), revoked here."""

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.idempotency import form_key, request_fingerprint, run_idempotent
from kopilka.staff.roles import ANY_ROLE, ROLE_NAMES, is_owner, role_required, roles_of, stores_of
from kopilka.staff.tokens import (
    NAME_MAX,
    NewToken,
    staff_token_create,
    staff_token_revoke,
    token_for_form,
    tokens_of,
)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Token name"),
        max_length=NAME_MAX,
        help_text=gettext_lazy("Where the token will be used, e.g. “price script”."),
    )


class TokenShownOnce(DomainError):
    code = "token_shown_once"
    status = 409


def _create(request: HttpRequest, name: str) -> NewToken:
    """Once per rendered form: a second copy of it (a double click, a resent request) makes no
    second token and shows the first one's key again, for a few minutes."""
    key = form_key(
        request.POST.get("key", ""), _("The page is out of date: create the token again.")
    )
    made: list[NewToken] = []

    def work() -> tuple[int, dict[str, object]]:
        new = staff_token_create(
            user=request.user, name=name, actor=Actor.staff(request.user), form_key=key
        )
        made.append(new)
        return 201, {"token_id": new.token.pk}

    status, body = run_idempotent(
        scope=f"staff-token:{request.user.pk}",
        key=key,
        request_hash=request_fingerprint("staff-token", name),
        work=work,
    )
    if status != 201:
        raise DomainError(str(body["error"]["message"]))  # type: ignore[index]
    if made:
        return made[0]
    again = token_for_form(user=request.user, token_id=int(body["token_id"]), form_key=key)  # type: ignore[call-overload]
    if again is None:
        raise TokenShownOnce(
            _(
                "This form already made its token, and its key is not shown again. "
                "If you did not copy it, revoke it and create another."
            )
        )
    return again


def _revoke(request: HttpRequest) -> None:
    raw = request.POST.get("token", "")
    try:
        token = staff_token_revoke(
            token_id=int(raw) if raw.isdigit() and len(raw) < 19 else 0,
            user=request.user,
            actor=Actor.staff(request.user),
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
        )


@role_required(ANY_ROLE)
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The person, their roles and stores, and their API tokens."""
    if request.method == "POST" and request.POST.get("action") == "revoke":
        _revoke(request)
        return redirect("backoffice:profile")
    form = TokenForm(request.POST if request.method == "POST" else None)
    new: NewToken | None = None
    if form.is_bound and form.is_valid():
        try:
            new = _create(request, form.cleaned_data["name"])
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            form = TokenForm()
    user: Any = request.user
    context = {
        "section": "profile",
        "person": user,
        "roles": [ROLE_NAMES[role] for role in roles_of(user)],
        "all_stores": is_owner(user),
        "stores": stores_of(user),
        "tokens": tokens_of(user),
        "new": new,
        "form": form,
        "key": uuid.uuid4().hex,
    }
    return render(request, "staff/profile.html", context, status=400 if form.errors else 200)
