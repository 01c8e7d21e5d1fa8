"""Terminal API keys: shown once, stored as a SHA-256 hash, looked up by a public prefix
(`core.api_keys`, which the staff's personal tokens share)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.api_keys import (
    key_hash,
    key_matches,
    key_new,
    key_prefix,
    last_use_due,
)
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError, NotFound
from kopilka.core.sql import read_one
from kopilka.pos.models import Store, Terminal
from kopilka.pos.stores import Seller, StoreRef

KEY_PREFIX = "kp_"


@dataclass(frozen=True)
class TerminalPrincipal:
    id: int
    name: str
    store_id: int
    store_code: str
    store_time_zone: str = "Europe/Moscow"

    @property
    def actor(self) -> Actor:
        return Actor(label=f"terminal:{self.store_code}/{self.name}", terminal_id=self.id)

    @property
    def seller(self) -> Seller:
        store = StoreRef(id=self.store_id, code=self.store_code, time_zone=self.store_time_zone)
        return Seller(actor=self.actor, store=store)


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
    prefix, key = key_new(KEY_PREFIX)
    terminal = Terminal.objects.create(
        store=store,
        name=name or _("Till %(number)d") % {"number": store.terminals.count() + 1},
        key_prefix=prefix,
        key_hash=key_hash(key),
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
    audit_record(
        actor=actor, action="terminal.revoke", target_type="terminal", target_id=terminal_id
    )


_AUTH_SQL = (
    f"SELECT t.id, t.name, t.store_id, s.code, s.time_zone, t.key_hash, t.last_used_at "
    f"FROM {Terminal._meta.db_table} t JOIN {Store._meta.db_table} s ON s.id = t.store_id "
    "WHERE t.key_prefix = %s AND t.revoked_at IS NULL"
)


def terminal_authenticate(key: str) -> TerminalPrincipal | None:
    """The terminal this key belongs to, or None for a wrong, malformed or revoked key.

    Read from the database on every request (one indexed row, a prepared statement on
    PostgreSQL, and the request's connection health check): a revoke, from any process or the
    shell, holds in every worker at once. There is deliberately no per-process cache.
    """
    prefix = key_prefix(key, KEY_PREFIX)
    if prefix is None:
        return None
    row = read_one(_AUTH_SQL, [prefix])
    if row is None:
        return None
    terminal_id, name, store_id, store_code, time_zone, stored_hash, last_used_at = row
    if not key_matches(stored_hash, key):
        return None
    now = clock.now()
    if last_use_due(_aware(last_used_at) if last_used_at else None, now):
        Terminal.objects.filter(pk=terminal_id).update(last_used_at=now)
    return TerminalPrincipal(
        id=terminal_id,
        name=name,
        store_id=store_id,
        store_code=store_code,
        store_time_zone=time_zone,
    )


def _aware(value: datetime | str) -> datetime:
    """A timestamp read with raw SQL: SQLite hands back text, naive in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def terminal_for_key(key: str) -> Terminal:
    """The terminal (revoked or not) a full API key belongs to, for the owner holding the key."""
    prefix = key_prefix(key, KEY_PREFIX)
    terminal = Terminal.objects.filter(key_prefix=prefix).first() if prefix else None
    if terminal is None or not key_matches(terminal.key_hash, key):
        raise NotFound(_("No terminal has this key."))
    return terminal


class StoreMismatch(DomainError):
    code = "store_mismatch"


def store_check(seller: Seller, store_code: str) -> None:
    """A receipt names the store it was rung up in: it must be the seller's own."""
    if store_code != seller.store.code:
        raise StoreMismatch(
            _("This terminal belongs to store %(code)s.") % {"code": seller.store.code},
            fields={"store": _("Must be %(code)s.") % {"code": seller.store.code}},
        )
