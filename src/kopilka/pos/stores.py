"""Stores: created and renamed by staff, each change in the audit log.

A store's code is what tills send with every receipt, so it is fixed once created.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import Conflict, DomainError
from kopilka.pos.models import Store


@dataclass(frozen=True)
class StoreRef:
    id: int
    code: str
    time_zone: str


@dataclass(frozen=True)
class Seller:
    """Who rings a receipt up, and where: a terminal, a staff user at the till, an import.
    Purchase and return services take a seller, so every front end calls the same ones."""

    actor: Actor
    store: StoreRef

    @property
    def idempotency_scope(self) -> str:
        """Keys are the sender's own: a terminal's, a staff user's, a job's."""
        if self.actor.terminal_id is not None:
            return f"terminal:{self.actor.terminal_id}"
        return self.actor.label


class StoreCodeTaken(Conflict):
    code = "store_code_taken"


class UnknownTimeZone(DomainError):
    code = "unknown_time_zone"


def time_zone_check(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            _("Unknown time zone %(zone)s.") % {"zone": time_zone},
            fields={"time_zone": _("A time zone such as Europe/Moscow.")},
        ) from None


@transaction.atomic
def store_create(*, code: str, name: str, time_zone: str, actor: Actor) -> Store:
    """A new store; its terminals are created with pos.terminals.terminal_create."""
    time_zone_check(time_zone)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a taken code
            store = Store.objects.create(code=code, name=name, time_zone=time_zone)
    except IntegrityError:
        raise StoreCodeTaken(
            _("A store with code %(code)s exists.") % {"code": code},
            fields={"code": _("Choose another code.")},
        ) from None
    audit_record(
        actor=actor,
        action="store.create",
        target_type="store",
        target_id=store.pk,
        data={"code": code, "name": name, "time_zone": time_zone},
    )
    return store


@transaction.atomic
def store_update(*, store_id: int, name: str, time_zone: str, actor: Actor) -> Store:
    time_zone_check(time_zone)
    store = Store.objects.select_for_update().get(pk=store_id)
    before = {"name": store.name, "time_zone": store.time_zone}
    Store.objects.filter(pk=store_id).update(name=name, time_zone=time_zone)
    store.name, store.time_zone = name, time_zone
    audit_record(
        actor=actor,
        action="store.update",
        target_type="store",
        target_id=store_id,
        data={"before": before, "after": {"name": name, "time_zone": time_zone}},
    )
    return store
