"""Purchases and returns: quote, commit (earn + redeem atomically) and proportional returns.

Services take a `Seller` (an actor at a store: a terminal, a staff user at the till, an import),
never a terminal, so every front end calls the same ones. Every figure comes from the one engine
(`program.engine.quote`) and every movement of points from the ledger's planner and applier.
"""

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import audit_record
from kopilka.core.errors import DomainError, NotFound
from kopilka.core.idempotency import run_idempotent
from kopilka.core.jsontext import JsonText
from kopilka.core.sql import insert_row, insert_rows
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.plan import OpenLot, plan_return
from kopilka.ledger.services import member_lock
from kopilka.ledger.state import member_state, purchase_lots, redeemed_until
from kopilka.members.models import Member
from kopilka.members.selectors import member_find
from kopilka.messaging.triggers import purchase_points_earned
from kopilka.pos import fast_commit
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine
from kopilka.pos.receipts import (
    DuplicateReceipt,
    MemberInactive,
    MemberRef,
    PurchasedAtOutOfRange,
    QuoteResult,
    ReceiptIn,
    ReceiptTooLarge,
    audit_data,
    engine_receipt,
    line_rows,
    purchase_instance,
    purchase_plan,
    purchase_row,
    receipt_check,
    returned_share,
)
from kopilka.pos.stores import Seller
from kopilka.program import engine
from kopilka.program.selectors import program_in_force, program_version
from kopilka.rewards.selectors import vouchers_for
from kopilka.rewards.services import vouchers_give_back, vouchers_use

__all__ = [  # what callers of the services take from pos.receipts through here
    "DuplicateReceipt",
    "MemberInactive",
    "MemberRef",
    "PurchasedAtOutOfRange",
    "QuoteResult",
    "ReceiptIn",
    "ReceiptTooLarge",
]


class ReturnTooLarge(DomainError):
    code = "return_exceeds_purchase"


class PurchaseNotFound(NotFound):
    code = "purchase_not_found"


def _check_active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive(
            _("This member's account is %(status)s.") % {"status": member.get_status_display()}
        )


def receipt_quote(*, seller: Seller, receipt: ReceiptIn) -> QuoteResult:
    """The dry run behind /receipts/calculate: the same engine as the commit, nothing written."""
    now = clock.now()
    receipt_check(seller, receipt, now)
    priced = engine_receipt(seller, receipt, now)
    program = program_in_force(priced.at)
    state = None
    if receipt.member.given:
        ref = receipt.member
        member = member_find(member_id=ref.member_id, phone=ref.phone, card=ref.card_number)
        _check_active(member)
        state, _lots = member_state(
            member, receipt_at=priced.at, time_zone=priced.time_zone, at=now, program=program
        )
    member_id = state.member_id if state else None
    priced = replace(priced, vouchers=vouchers_for(member_id, receipt.vouchers, now))
    quote = engine.quote(priced, state, program, receipt.redeem)
    return QuoteResult(quote, member_id)


@transaction.atomic(savepoint=False)
def purchase_commit(*, seller: Seller, receipt: ReceiptIn) -> tuple[Purchase, QuoteResult]:
    """Record a purchase; redeem and earn its points in the same transaction, under the member's lock."""
    now = clock.now()
    receipt_check(seller, receipt, now)
    priced = engine_receipt(seller, receipt, now)
    program = program_in_force(priced.at)
    member = state = None
    lots: list[OpenLot] = []
    if receipt.member.given:
        ref = receipt.member
        member_id = ref.member_id
        if member_id is None:
            member_id = member_find(phone=ref.phone, card=ref.card_number).pk
        member = member_lock(member_id)
        _check_active(member)
        state, lots = member_state(
            member, receipt_at=priced.at, time_zone=priced.time_zone, at=now, program=program
        )
    member_pk = member.pk if member else None
    priced = replace(priced, vouchers=vouchers_for(member_pk, receipt.vouchers, now))
    quote = engine.quote(priced, state, program, receipt.redeem)
    row = purchase_row(seller, receipt, quote, member_pk, now)
    try:
        purchase_id = insert_row(Purchase, **row)
    except IntegrityError as exc:
        # The unique constraint decides, so two tills racing with one receipt number can't both win.
        raise DuplicateReceipt(
            _("Receipt %(number)s is already recorded in this store.")
            % {"number": receipt.receipt_number},
            fields={"receipt_number": _("Already used.")},
        ) from exc
    insert_rows(PurchaseLine, line_rows(purchase_id, member_pk, receipt, quote))
    vouchers_use([e for e in quote.effects if isinstance(e, engine.VoucherUse)], purchase_id, now)
    if member is not None:
        plan_apply(purchase_plan(seller, quote, member.pk, purchase_id, lots, now))
        earned = sum(e.points for e in quote.effects if isinstance(e, engine.Grant))
        purchase_points_earned(member_id=member.pk, purchase_id=purchase_id, points=earned, at=now)
    audit_record(
        actor=seller.actor,
        action="purchase.commit",
        target_type="purchase",
        target_id=purchase_id,
        member_id=member_pk,
        data=audit_data(quote),
    )
    return purchase_instance(row, purchase_id), QuoteResult(quote, member_pk)


Render = Callable[[Purchase, QuoteResult], Mapping[str, Any]]


def purchase_commit_once(
    *, seller: Seller, receipt: ReceiptIn, key: str, request_hash: str, render: Render
) -> tuple[int, dict[str, object] | JsonText]:
    """Commit a purchase once per Idempotency-Key: a retry gets the first (status, body) back.

    On PostgreSQL a purchase is two statements (`pos.fast_commit`): a read of the member's
    state, and one guarded write of every planned row. A key seen before, a member whose state
    changed, any refusal: those take the locked path below (`run_idempotent` around
    `purchase_commit`), which gives the answer.
    """
    # A message per purchase is written by the locked path only (the one statement writes the
    # ledger's rows; the message needs the member's channels and consents read under the lock).
    per_purchase = settings.KOPILKA_POINTS_EARNED_MESSAGE == "purchase"
    if connection.vendor == "postgresql" and not per_purchase:
        body = fast_commit.commit_in_one_statement(
            seller=seller, receipt=receipt, key=key, request_hash=request_hash, render=render
        )
        if body is not None:
            return 201, body

    def work() -> tuple[int, dict[str, object]]:
        return 201, dict(render(*purchase_commit(seller=seller, receipt=receipt)))

    return run_idempotent(
        scope=seller.idempotency_scope, key=key, request_hash=request_hash, work=work
    )


@dataclass(frozen=True)
class ReturnRequestLine:
    sku: str
    quantity: Decimal


def _returned(line: PurchaseLine, figure: int, before: Decimal, after: Decimal) -> int:
    return returned_share(figure, line.quantity, before, after)


def returned_quantities(purchase_id: int) -> defaultdict[int, Decimal]:
    """How much of each of the purchase's lines came back already, by line id."""
    back: defaultdict[int, Decimal] = defaultdict(Decimal)
    for line_id, quantity in ReturnLine.objects.filter(
        purchase_line__purchase_id=purchase_id
    ).values_list("purchase_line_id", "quantity"):
        back[line_id] += quantity
    return back


@transaction.atomic(savepoint=False)
def purchase_return(
    *, seller: Seller, purchase_id: int, lines: list[ReturnRequestLine]
) -> PurchaseReturn:
    """Return goods: take back earned points and refund redeemed ones in proportion to what comes back.

    Shares are computed on cumulative returned quantities, so several partial returns of a line
    never take back or refund more than the line earned or redeemed, and a full return gives all.
    The figures are the purchase's own, so a return reverses what the version that priced it gave.
    """
    # Another store's purchase is "not found", so a terminal can't even confirm that its id exists.
    mine = Purchase.objects.filter(pk=purchase_id, store_id=seller.store.id)
    head = mine.values("member_id").first()
    if head is None:
        raise PurchaseNotFound(_("No purchase with this id in this store."))
    if head["member_id"] is not None:
        member_lock(head["member_id"])  # members before purchases: the commit's lock order
    purchase = mine.select_for_update().get()
    bought = list(purchase.lines.order_by("position"))
    returned_before = returned_quantities(purchase.pk)

    wanted: dict[str, Decimal] = defaultdict(Decimal)
    for request in lines:
        wanted[request.sku] += request.quantity
    allocation: list[tuple[PurchaseLine, Decimal]] = []
    errors: dict[str, str] = {}
    for sku, quantity in wanted.items():
        left = quantity
        candidates = [line for line in bought if line.sku == sku]
        if not candidates:
            errors[sku] = _("Not in this purchase.")
            continue
        for line in candidates:
            room = line.quantity - returned_before[line.pk]
            take = min(room, left)
            if take > 0:
                allocation.append((line, take))
                left -= take
        if left > 0:
            errors[sku] = _("Only %(left)s more can be returned.") % {"left": quantity - left}
    if errors:
        raise ReturnTooLarge(_("The return does not match what was bought."), fields=errors)

    rows = []
    for line, quantity in allocation:
        before = returned_before[line.pk]
        after = before + quantity
        rows.append(
            ReturnLine(
                purchase_line=line,
                member_id=purchase.member_id,
                quantity=quantity,
                amount=_returned(line, line.amount, before, after),
                discount=_returned(line, line.discount, before, after),
                earn_reversed=_returned(line, line.earn_points, before, after),
                redeem_refunded=_returned(line, line.redeem_points, before, after),
            )
        )
    now = clock.now()
    take_back = sum(row.earn_reversed for row in rows)
    refund = sum(row.redeem_refunded for row in rows)
    record = PurchaseReturn.objects.create(
        purchase=purchase,
        member_id=purchase.member_id,
        terminal_id=seller.actor.terminal_id,
        created_at=now,
        amount=sum(row.amount for row in rows),
        earn_reversed=take_back,
        redeem_refunded=refund,
    )
    for row in rows:
        row.purchase_return = record
    ReturnLine.objects.bulk_create(rows)
    if purchase.member_id is not None:
        plan, taken = plan_return(
            member_id=purchase.member_id,
            purchase_id=purchase.pk,
            return_id=record.pk,
            take_back=take_back,
            refund=refund,
            lots=purchase_lots(purchase.member_id, purchase.pk),
            paid_until=redeemed_until(purchase.pk),
            program=program_version(purchase.program_version_id or 0),
            time_zone=seller.store.time_zone,
            at=now,
            actor_label=seller.actor.label,
            spend_delta=-sum(row.amount - row.discount for row in rows),
        )
        plan_apply(plan)
        if taken < take_back:
            record.earn_reversed = taken
            record.earn_not_recovered = take_back - taken
            PurchaseReturn.objects.filter(pk=record.pk).update(
                earn_reversed=taken, earn_not_recovered=take_back - taken
            )
    allocated: dict[int, Decimal] = defaultdict(Decimal)
    for line, quantity in allocation:
        allocated[line.pk] += quantity
    if all(returned_before[line.pk] + allocated[line.pk] >= line.quantity for line in bought):
        vouchers_give_back(purchase.pk, now)  # returned in full: its vouchers, if still valid
    audit_record(
        actor=seller.actor,
        action="purchase.return",
        target_type="purchase",
        target_id=purchase.pk,
        member_id=purchase.member_id,
        data={"return_id": record.pk, "take_back": record.earn_reversed, "refund": refund},
    )
    return record
