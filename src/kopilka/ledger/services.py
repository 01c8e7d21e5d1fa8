"""The only code that moves points: each service plans with `ledger.plan` and writes the plan
with `ledger.apply`, under the member's row lock.

`member_lock` is the building block other services use (a purchase commit and a return plan
their rows in `pos.services`): the caller must be inside `transaction.atomic()`.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.models import PointLot, Transfer
from kopilka.ledger.plan import LedgerInvariantError, plan_adjust, plan_expiry
from kopilka.ledger.state import GUARD_COLUMNS, open_lots
from kopilka.members.models import Member
from kopilka.members.services import MemberNotFound

# One refusal for too few points, raised by the engine and the ledger alike (worded late).
from kopilka.program.engine import InsufficientPoints, lot_dates
from kopilka.program.selectors import program_in_force

__all__ = ["InsufficientPoints", "LedgerInvariantError", "member_lock"]

_LOCKED_FIELDS = ("id", "state_version", *GUARD_COLUMNS)


def member_lock(member_id: int) -> Member:
    """Lock the member row and read what the engine needs of it: every change of a member's
    points happens under this lock. Lots are read by the next statement (see state.py)."""
    member = Member.objects.select_for_update().only(*_LOCKED_FIELDS).filter(pk=member_id).first()
    if member is None:
        raise MemberNotFound(_("No member with this id."))
    return member


@transaction.atomic
def points_adjust(*, member_id: int, points: int, reason: str, actor: Actor) -> Transfer:
    """A manual correction by a staff member, with a written reason."""
    if actor.user_id is None:
        raise DomainError(
            _("Only a staff user can adjust points."), fields={"actor": _("Staff user required.")}
        )
    if not reason.strip():
        raise DomainError(_("Give a reason for the adjustment."), fields={"reason": _("Required.")})
    if points == 0:
        raise DomainError(
            _("An adjustment must change the balance."), fields={"points": _("Must not be zero.")}
        )
    member_lock(member_id)
    at = clock.now()
    _available_at, expires_at = lot_dates(at, settings.TIME_ZONE, program_in_force(at))
    plan = plan_adjust(
        member_id=member_id,
        points=points,
        reason=reason.strip(),
        lots=open_lots(member_id),
        at=at,
        expires_at=expires_at,
        actor_label=actor.label,
    )
    (transfer_id,) = plan_apply(plan)
    audit_record(
        actor=actor,
        action="points.adjust",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
        data={"points": points, "reason": reason.strip(), "transfer_id": transfer_id},
    )
    return Transfer.objects.get(pk=transfer_id)


def points_expire_due(*, actor: Actor, at: datetime | None = None) -> dict[str, int]:
    """Expire every lot whose time has come: one EXPIRE transfer per member, each in its own
    transaction."""
    at = at or clock.now()
    member_ids = (
        PointLot.objects.filter(remaining__gt=0, expires_at__lte=at)
        .values_list("member_id", flat=True)
        .distinct()
    )
    members = points = 0
    for member_id in sorted(set(member_ids)):
        with transaction.atomic():
            member_lock(member_id)
            plan = plan_expiry(
                member_id=member_id, lots=open_lots(member_id), at=at, actor_label=actor.label
            )
            if plan.empty:
                continue  # another run got here first
            plan_apply(plan)
            members += 1
            points -= plan.balance_delta
    return {"members": members, "points": points}
