"""Personal API tokens for the staff API (`/api/v1/staff/`): made on the profile page, shown
once, stored as a SHA-256 hash and found by a public prefix, as terminal keys are
(`core.api_keys`). A token acts as its person with the roles they have at each request.

A token made from a page's form is derived from that form's own key (HMAC with SECRET_KEY): the
page's form is sent once per token (`core.idempotency.run_idempotent`), and a second copy of
the same form (a double click, a resent request) is answered with the same key, which the
person could not otherwise see again. Without SECRET_KEY the stored rows name no key.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.api_keys import key_hash, key_matches, key_new, key_prefix, last_use_due
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError, NotFound
from kopilka.staff.models import StaffToken

KEY_PREFIX = "ks_"
NAME_MAX = StaffToken._meta.get_field("name").max_length or 100
# How long a resent form still shows the key it made: a double click, a retried request.
REPLAY_WINDOW = timedelta(minutes=10)


class TokenNameInvalid(DomainError):
    code = "token_name_invalid"
    status = 400


@dataclass(frozen=True)
class NewToken:
    token: StaffToken
    key: str  # shown now and never again


def _derived_key(user_id: int, form_key: str) -> tuple[str, str]:
    digest = salted_hmac("kopilka.staff.tokens", f"{user_id}:{form_key}", algorithm="sha256")
    hexed = digest.hexdigest()
    prefix, secret = hexed[:12], hexed[12:]  # 48 bits of prefix, 208 of secret
    return prefix, f"{KEY_PREFIX}{prefix}_{secret}"


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise TokenNameInvalid(_("Name the token."), fields={"name": _("Required.")})
    if len(name) > NAME_MAX:
        message = _("At most %(max_length)s characters.") % {"max_length": NAME_MAX}
        raise TokenNameInvalid(message, fields={"name": message})
    return name


@transaction.atomic
def staff_token_create(
    *, user: Any, name: str, actor: Actor, form_key: str | None = None
) -> NewToken:
    """A new token for `user`; its key is in the answer only. `form_key`: the key of the page's
    form it comes from (`token_for_form` finds it again); without one, a random key."""
    name = _name(name)
    prefix, key = _derived_key(user.pk, form_key) if form_key else key_new(KEY_PREFIX)
    token = StaffToken.objects.create(
        user=user,
        name=name,
        key_prefix=prefix,
        key_hash=key_hash(key),
        created_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="staff_token.create",
        target_type="staff_token",
        target_id=token.pk,
        data={"user": user.get_username(), "name": name, "prefix": prefix},
    )
    return NewToken(token, key)


def token_for_form(*, user: Any, token_id: int, form_key: str) -> NewToken | None:
    """The token a form made, with its key again, for a second copy of that form sent soon
    after (within REPLAY_WINDOW, while it is not revoked); None otherwise."""
    token = StaffToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None or clock.now() - token.created_at > REPLAY_WINDOW:
        return None
    _prefix, key = _derived_key(user.pk, form_key)
    return NewToken(token, key) if key_matches(token.key_hash, key) else None


class TokenNotFound(NotFound):
    code = "token_not_found"


@transaction.atomic
def staff_token_revoke(*, token_id: int, user: Any, actor: Actor) -> StaffToken:
    """Revoke one of `user`'s tokens: it stops working at once in every process."""
    updated = StaffToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    if not updated:
        raise TokenNotFound(_("You have no active token with this id."))
    audit_record(
        actor=actor,
        action="staff_token.revoke",
        target_type="staff_token",
        target_id=token_id,
        data={"user": user.get_username()},
    )
    return StaffToken.objects.get(pk=token_id)


def staff_token_authenticate(key: str) -> Any | None:
    """The active staff user this key belongs to, or None for a wrong, malformed or revoked key
    or a person no longer active or staff.

    Read from the database on every request, as terminal keys are: a revoke or a deactivation
    holds in every worker at once.
    """
    prefix = key_prefix(key, KEY_PREFIX)
    if prefix is None:
        return None
    token = (
        StaffToken.objects.select_related("user")
        .filter(key_prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not key_matches(token.key_hash, key):
        return None
    user = token.user
    if not (user.is_active and user.is_staff):
        return None
    now = clock.now()
    if last_use_due(token.last_used_at, now):
        StaffToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


def tokens_of(user: Any) -> list[StaffToken]:
    """The person's tokens, the newest first, revoked ones included."""
    return list(StaffToken.objects.filter(user=user).order_by("-created_at", "-id"))
