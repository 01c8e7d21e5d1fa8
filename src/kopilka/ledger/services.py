"""The only code that moves points.

Functions named `*_in_transaction` are building blocks for other services (a purchase commit
earns and redeems in one transaction): the caller must hold the member's row lock inside
`transaction.atomic()`. The others are whole services with their own transaction.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.core.sql import db_datetime, insert_row, insert_rows
from kopilka.ledger.models import LotSpend, PointLot, Posting, Transfer
from kopilka.ledger.selectors import member_points
from kopilka.members.models import Member
from kopilka.members.services import MemberNotFound

# One refusal for too few points, raised by the engine and the ledger alike (worded late).
from kopilka.program.engine import InsufficientPoints, Rules

Account = Posting.Account
log = logging.getLogger("kopilka.ledger")


class LedgerInvariantError(AssertionError):
    """A bug, never user input: the ledger refuses to write an unbalanced or impossible transfer."""


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise LedgerInvariantError("ledger building blocks must run inside transaction.atomic()")


def lot_dates(*, at: datetime, rules: Rules) -> tuple[datetime, datetime]:
    """When points earned at `at` become available and when they expire (business-day boundaries)."""
    available_at = (
        at if rules.pending_days == 0 else clock.days_later_midnight(at, rules.pending_days)
    )
    # Valid through the whole last day: 365 days from 10 January means until the end of 10 January.
    return available_at, clock.days_later_midnight(at, rules.expiry_days + 1)


Legs = list[tuple[str, int]]


@dataclass
class OpenLot:
    """A lot's id and points left, as spending needs them (no model instance on the hot path)."""

    pk: int
    remaining: int


_MOVE_BALANCE_SQL = (
    f"UPDATE {Member._meta.db_table} SET points_balance = points_balance + %s WHERE id = %s"
)
_LOT_TAKE_SQL = f"UPDATE {PointLot._meta.db_table} SET remaining = remaining - %s WHERE id = %s"


def member_change(legs: Sequence[tuple[str, int]]) -> int:
    """How much a transfer moves the member's balance."""
    return sum(amount for account, amount in legs if account == Account.MEMBER)


def check_balanced(legs: Sequence[tuple[str, int]]) -> None:
    if sum(amount for _account, amount in legs) != 0:
        raise LedgerInvariantError(f"postings of a transfer must sum to zero: {legs}")


def purchase_entries(*, redeem: int, earn: int) -> list[tuple[str, Legs]]:
    """A purchase's transfers: REDEEM (member to redeemed), then EARN (issued to member)."""
    if redeem < 0 or earn < 0 or not (redeem or earn):
        raise LedgerInvariantError("a purchase redeems or earns a positive number of points")
    entries: list[tuple[str, Legs]] = []
    if redeem:
        entries.append(
            (Transfer.Kind.REDEEM, [(Account.MEMBER, -redeem), (Account.REDEEMED, redeem)])
        )
    if earn:
        entries.append((Transfer.Kind.EARN, [(Account.ISSUED, -earn), (Account.MEMBER, earn)]))
    return entries


def purchase_points_plan(
    *, redeem: int, earn: int, at: datetime, rules: Rules
) -> dict[str, object]:
    """What a purchase writes to the ledger, as the one-statement commit on PostgreSQL takes it
    (`kopilka_purchase_commit`, pos migration 0002): the same transfers, postings and lot dates
    as `purchase_points_in_transaction`; the function spends lots FIFO under the member's lock."""
    entries = purchase_entries(redeem=redeem, earn=earn) if redeem or earn else []
    for _kind, legs in entries:
        check_balanced(legs)
    available_at, expires_at = lot_dates(at=at, rules=rules)
    return {
        "transfers": [
            {
                "kind": kind,
                "points": member_change(legs),
                "legs": [[account, amount] for account, amount in legs if amount],
            }
            for kind, legs in entries
        ],
        "member_delta": sum(member_change(legs) for _kind, legs in entries),
        "available_at": available_at.isoformat(),
        "expires_at": expires_at.isoformat(),
    }


def _post(
    *,
    kind: str,
    member_id: int,
    legs: Legs,
    at: datetime,
    actor: Actor,
    purchase_id: int | None = None,
    return_id: int | None = None,
    reason: str = "",
) -> Transfer:
    (transfer,) = _post_many(
        member_id=member_id,
        entries=[(kind, legs)],
        at=at,
        actor=actor,
        purchase_id=purchase_id,
        return_id=return_id,
        reason=reason,
    )
    return transfer


def _post_many(
    *,
    member_id: int,
    entries: list[tuple[str, Legs]],
    at: datetime,
    actor: Actor,
    purchase_id: int | None = None,
    return_id: int | None = None,
    reason: str = "",
) -> list[Transfer]:
    """Write transfers with their postings and move the member's cached balance, in three statements."""
    for _kind, legs in entries:
        check_balanced(legs)
    transfers = [
        Transfer(
            kind=kind,
            member_id=member_id,
            purchase_id=purchase_id,
            purchase_return_id=return_id,
            points=member_change(legs),
            created_at=at,
            reason=reason,
            actor_label=actor.label,
        )
        for kind, legs in entries
    ]
    ids = insert_rows(
        Transfer,
        [
            {
                "kind": t.kind,
                "member_id": member_id,
                "purchase_id": purchase_id,
                "purchase_return_id": return_id,
                "points": t.points,
                "created_at": at,
                "reason": reason,
                "actor_label": actor.label,
            }
            for t in transfers
        ],
    )
    for transfer, transfer_id in zip(transfers, ids, strict=True):
        transfer.pk = transfer_id
        transfer._state.adding = False
    insert_rows(
        Posting,
        [
            {
                "transfer_id": transfer.pk,
                "account": account,
                "member_id": member_id,
                "amount": amount,
            }
            for transfer, (_kind, legs) in zip(transfers, entries, strict=True)
            for account, amount in legs
            if amount
        ],
    )
    member_delta = sum(transfer.points for transfer in transfers)
    if member_delta:
        with connection.cursor() as cursor:
            cursor.execute(_MOVE_BALANCE_SQL, [member_delta, member_id])
    return transfers


def _spend(
    *, member_id: int, transfer: Transfer, points: int, lots: Iterable[PointLot | OpenLot]
) -> int:
    """Take up to `points` from `lots` in the order given; return how many were taken."""
    left = points
    spends: list[dict[str, object]] = []
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take <= 0:
            continue
        with connection.cursor() as cursor:
            cursor.execute(_LOT_TAKE_SQL, [take, lot.pk])
        lot.remaining -= take
        spends.append(
            {"lot_id": lot.pk, "transfer_id": transfer.pk, "member_id": member_id, "points": take}
        )
        left -= take
    insert_rows(LotSpend, spends)
    return points - left


def _open_lots(member_id: int, at: datetime, *, include_pending: bool) -> list[OpenLot]:
    """Lots with points left, FIFO by expiry; pending lots (when included) are the newest, so last."""
    moment = db_datetime(at)
    pending = "" if include_pending else " AND available_at <= %s"
    sql = (
        f"SELECT id, remaining FROM {PointLot._meta.db_table} WHERE member_id = %s AND remaining > 0 "
        f"AND expires_at > %s{pending} ORDER BY expires_at, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [member_id, moment] + ([] if include_pending else [moment]))
        return [OpenLot(pk=row[0], remaining=row[1]) for row in cursor.fetchall()]


def member_lock(member_id: int) -> Member:
    """Lock the member row: every change of a member's points happens under this lock."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status FROM {Member._meta.db_table} WHERE id = %s{lock}", [member_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise MemberNotFound(_("No member with this id."))
    member = Member(pk=row[0], status=row[1])
    member._state.adding = False
    return member


def member_lock_with_balance(member_id: int, at: datetime) -> tuple[Member, int, int]:
    """Lock the member row, then read (available, pending) points.

    Two statements on purpose: under READ COMMITTED a statement that waits for a row lock keeps
    the snapshot it started with for every other table, so a balance summed in the locking
    statement would miss the lots written by the transaction it waited for.
    """
    member = member_lock(member_id)
    return member, *member_points(member_id, at)


def purchase_points_in_transaction(
    *,
    member_id: int,
    redeem: int,
    earn: int,
    at: datetime,
    rules: Rules,
    actor: Actor,
    purchase_id: int | None = None,
) -> list[Transfer]:
    """Redeem, then earn, for one purchase: a REDEEM and an EARN transfer written as one batch.

    The caller holds the member lock and has checked `redeem` against the available points.
    """
    _require_transaction()
    transfers = _post_many(
        member_id=member_id,
        entries=purchase_entries(redeem=redeem, earn=earn),
        at=at,
        actor=actor,
        purchase_id=purchase_id,
    )
    if redeem:
        lots = _open_lots(member_id, at, include_pending=False)
        taken = _spend(member_id=member_id, transfer=transfers[0], points=redeem, lots=lots)
        if taken != redeem:
            # The caller checked the balance under the lock, so this is a bug: say so loudly, and
            # refuse the purchase (everything rolls back) rather than write an impossible spend.
            log.error(
                "lots disagree with the checked balance",
                extra={"member_id": member_id, "redeem": redeem, "lots": taken},
            )
            raise InsufficientPoints(
                "not enough points in the lots", available=taken, requested=redeem
            )
    if earn:
        available_at, expires_at = lot_dates(at=at, rules=rules)
        insert_row(
            PointLot,
            member_id=member_id,
            transfer_id=transfers[-1].pk,
            points=earn,
            remaining=earn,
            earned_at=at,
            available_at=available_at,
            expires_at=expires_at,
        )
    return transfers


def return_in_transaction(
    *,
    member_id: int,
    purchase_id: int,
    return_id: int,
    take_back: int,
    refund: int,
    at: datetime,
    rules: Rules,
    actor: Actor,
) -> tuple[int, int]:
    """Refund redeemed points and take back earned ones for a return; returns (taken_back, refunded).

    Earned points come back from the purchase's own lot first, then from the member's other
    points, pending ones last. What the member no longer holds is not taken (the balance never goes
    negative); the shortfall is the difference between the asked and the returned figure.
    """
    _require_transaction()
    earn_lots = list(
        PointLot.objects.filter(
            member_id=member_id,
            transfer__purchase_id=purchase_id,
            transfer__kind=Transfer.Kind.EARN,
        )
        .filter(remaining__gt=0, expires_at__gt=at)
        .only("id", "remaining")
    )
    own = {lot.pk for lot in earn_lots}
    others = [lot for lot in _open_lots(member_id, at, include_pending=True) if lot.pk not in own]
    collectable = (
        refund + sum(lot.remaining for lot in earn_lots) + sum(lot.remaining for lot in others)
    )
    taken = min(take_back, collectable)
    if taken == 0 and refund == 0:
        return 0, 0
    transfer = _post(
        kind=Transfer.Kind.RETURN,
        member_id=member_id,
        legs=[
            (Account.MEMBER, refund - taken),
            (Account.REDEEMED, -refund),
            (Account.ISSUED, taken),
        ],
        at=at,
        actor=actor,
        purchase_id=purchase_id,
        return_id=return_id,
    )
    refund_lot: list[PointLot | OpenLot] = []
    if refund:
        # Refunded points keep the life they had: they expire with the latest lot that paid for them.
        latest = LotSpend.objects.filter(
            transfer__purchase_id=purchase_id, transfer__kind=Transfer.Kind.REDEEM
        ).aggregate(latest=Max("lot__expires_at"))["latest"]
        refund_lot.append(
            PointLot.objects.create(
                member_id=member_id,
                transfer=transfer,
                points=refund,
                remaining=refund,
                earned_at=at,
                available_at=at,
                expires_at=latest or lot_dates(at=at, rules=rules)[1],
            )
        )
    if taken:
        spent = _spend(
            member_id=member_id,
            transfer=transfer,
            points=taken,
            lots=[*earn_lots, *refund_lot, *others],
        )
        if spent != taken:
            raise LedgerInvariantError("return could not take back the points it counted")
    return taken, refund


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
    if points < 0:
        available, _pending = member_points(member_id, at)
        if -points > available:
            raise InsufficientPoints(
                "not enough points to take", available=available, requested=-points
            )
    transfer = _post(
        kind=Transfer.Kind.ADJUST,
        member_id=member_id,
        legs=[(Account.ADJUSTMENT, -points), (Account.MEMBER, points)],
        at=at,
        actor=actor,
        reason=reason.strip(),
    )
    if points > 0:
        from kopilka.program.selectors import current_rules

        _available_at, expires_at = lot_dates(at=at, rules=current_rules())
        PointLot.objects.create(
            member_id=member_id,
            transfer=transfer,
            points=points,
            remaining=points,
            earned_at=at,
            available_at=at,
            expires_at=expires_at,
        )
    else:
        _spend(
            member_id=member_id,
            transfer=transfer,
            points=-points,
            lots=_open_lots(member_id, at, include_pending=False),
        )
    audit_record(
        actor=actor,
        action="points.adjust",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
        data={"points": points, "reason": reason.strip(), "transfer_id": transfer.pk},
    )
    return transfer


def points_expire_due(*, actor: Actor, at: datetime | None = None) -> dict[str, int]:
    """Expire every lot whose time has come: one EXPIRE transfer per member, each in its own transaction."""
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
            lots = list(
                PointLot.objects.filter(member_id=member_id, remaining__gt=0, expires_at__lte=at)
                .only("id", "remaining", "expires_at")
                .order_by("expires_at", "id")
            )
            total = sum(lot.remaining for lot in lots)
            if total == 0:
                continue  # another run got here first
            transfer = _post(
                kind=Transfer.Kind.EXPIRE,
                member_id=member_id,
                legs=[(Account.MEMBER, -total), (Account.EXPIRED, total)],
                at=at,
                actor=actor,
            )
            _spend(member_id=member_id, transfer=transfer, points=total, lots=lots)
            members += 1
            points += total
    return {"members": members, "points": points}
