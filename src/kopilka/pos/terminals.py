"""Terminal API keys: shown once, stored as a SHA-256 hash, looked up by a public prefix.

The keys are 190 bits of randomness, so a fast hash is enough (no password stretching needed);
a worker caches a verified key for a few seconds so the hot path costs no query.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError, NotFound
from kopilka.pos.models import Store, Terminal

KEY_PREFIX = "kp_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TerminalPrincipal:
    id: int
    name: str
    store_id: int
    store_code: str

    @property
    def actor(self) -> Actor:
        return Actor(label=f"terminal:{self.store_code}/{self.name}", terminal_id=self.id)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def terminal_create(
    *, store_code: str, actor: Actor, store_name: str | None = None, name: str | None = None
) -> tuple[Terminal, str]:
    """Create a terminal (and its store if missing); returns the terminal and its key, shown only now."""
    store, created = Store.objects.get_or_create(
        code=store_code, defaults={"name": store_name or store_code}
    )
    if not created and store_name and store.name != store_name:
        Store.objects.filter(pk=store.pk).update(name=store_name)
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
    terminal = Terminal.objects.create(
        store=store,
        name=name or _("Till %(number)d") % {"number": store.terminals.count() + 1},
        key_prefix=prefix,
        key_hash=_hash(key),
        created_at=clock.now(),
    )
    audit_record(
        actor=actor, action="terminal.create", target_type="terminal", target_id=terminal.pk
    )
    return terminal, key


@transaction.atomic
def terminal_revoke(*, terminal_id: int, actor: Actor) -> None:
    updated = Terminal.objects.filter(pk=terminal_id, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    if not updated:
        raise NotFound(_("No active terminal with this id."))
    terminal_auth_cache_clear()
    audit_record(
        actor=actor, action="terminal.revoke", target_type="terminal", target_id=terminal_id
    )


_auth_cache: dict[str, tuple[float, TerminalPrincipal]] = {}


def terminal_auth_cache_clear() -> None:
    _auth_cache.clear()


def terminal_authenticate(key: str) -> TerminalPrincipal | None:
    """The terminal this key belongs to, or None for a wrong, malformed or revoked key."""
    digest = _hash(key)
    cached = _auth_cache.get(digest)
    if cached and time.monotonic() - cached[0] < settings.KOPILKA_TERMINAL_AUTH_CACHE_SECONDS:
        return cached[1]
    if not key.startswith(KEY_PREFIX) or key.count("_") < 2:
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    terminal = (
        Terminal.objects.filter(key_prefix=prefix, revoked_at__isnull=True)
        .select_related("store")
        .first()
    )
    if terminal is None or not hmac.compare_digest(terminal.key_hash, digest):
        return None
    now = clock.now()
    if terminal.last_used_at is None or now - terminal.last_used_at > LAST_USED_RESOLUTION:
        Terminal.objects.filter(pk=terminal.pk).update(last_used_at=now)
    principal = TerminalPrincipal(
        id=terminal.pk,
        name=terminal.name,
        store_id=terminal.store_id,
        store_code=terminal.store.code,
    )
    _auth_cache[digest] = (time.monotonic(), principal)
    return principal


class StoreMismatch(DomainError):
    code = "store_mismatch"


def store_check(principal: TerminalPrincipal, store_code: str) -> None:
    if store_code != principal.store_code:
        raise StoreMismatch(
            _("This terminal belongs to store %(code)s.") % {"code": principal.store_code},
            fields={"store": _("Must be %(code)s.") % {"code": principal.store_code}},
        )
