"""Purchases and returns: quote, commit (earn + redeem atomically) and proportional returns."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import audit_record
from kopilka.core.errors import Conflict, DomainError, NotFound
from kopilka.core.sql import insert_row, insert_rows
from kopilka.ledger import services as ledger
from kopilka.ledger.selectors import member_points
from kopilka.members.models import Member
from kopilka.members.selectors import member_find
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine
from kopilka.pos.terminals import TerminalPrincipal, store_check
from kopilka.program import engine
from kopilka.program.selectors import current_rules


class DuplicateReceipt(Conflict):
    code = "duplicate_receipt"


class MemberInactive(DomainError):
    code = "member_inactive"


class ReturnTooLarge(DomainError):
    code = "return_exceeds_purchase"


class PurchaseNotFound(NotFound):
    code = "purchase_not_found"


@dataclass(frozen=True)
class MemberRef:
    member_id: int | None = None
    card_number: str | None = None
    phone: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.member_id is not None or self.card_number or self.phone)


@dataclass(frozen=True)
class ReceiptIn:
    member: MemberRef
    store: str
    lines: tuple[engine.Line, ...]
    redeem: int | Literal["max"]
    receipt_number: str = ""


@dataclass(frozen=True)
class QuoteResult:
    quote: engine.Quote
    member: Member | None


def _member_id_for(ref: MemberRef) -> int:
    if ref.member_id is not None:
        return ref.member_id  # locked by id right after: no separate read
    return member_find(phone=ref.phone, card=ref.card_number).pk


def _check_active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive(
            _("This member's account is %(status)s.") % {"status": member.get_status_display()}
        )


def receipt_quote(*, terminal: TerminalPrincipal, receipt: ReceiptIn) -> QuoteResult:
    """The dry run behind /receipts/calculate: the same engine as the commit, nothing written."""
    store_check(terminal, receipt.store)
    member = None
    snapshot = None
    if receipt.member.given:
        ref = receipt.member
        member = member_find(member_id=ref.member_id, phone=ref.phone, card=ref.card_number)
        _check_active(member)
        available, pending = member_points(member.pk, clock.now())
        snapshot = engine.MemberSnapshot(member_id=member.pk, available=available, pending=pending)
    return QuoteResult(
        engine.quote(receipt.lines, snapshot, current_rules(), receipt.redeem), member
    )


_PURCHASE_COLUMNS = (
    "store_id",
    "terminal_id",
    "member_id",
    "receipt_number",
    "created_at",
    "amount",
    "redeem_points",
    "payable",
    "earn_points",
)


@transaction.atomic(savepoint=False)
def purchase_commit(
    *, terminal: TerminalPrincipal, receipt: ReceiptIn
) -> tuple[Purchase, QuoteResult]:
    """Record a purchase; redeem and earn its points in the same transaction, under the member's lock."""
    store_check(terminal, receipt.store)
    now = clock.now()
    rules = current_rules()
    member = None
    snapshot = None
    if receipt.member.given:
        member, available, pending = ledger.member_lock_with_balance(
            _member_id_for(receipt.member), now
        )
        _check_active(member)
        snapshot = engine.MemberSnapshot(member_id=member.pk, available=available, pending=pending)
    quote = engine.quote(receipt.lines, snapshot, rules, receipt.redeem)
    purchase = Purchase(
        store_id=terminal.store_id,
        terminal_id=terminal.id,
        member_id=member.pk if member else None,
        receipt_number=receipt.receipt_number,
        created_at=now,
        amount=quote.amount,
        redeem_points=quote.redeem_points,
        payable=quote.payable,
        earn_points=quote.earn_points,
    )
    try:
        purchase.pk = insert_row(
            Purchase, **{name: getattr(purchase, name) for name in _PURCHASE_COLUMNS}
        )
    except IntegrityError as exc:
        # The unique constraint decides, so two tills racing with one receipt number can't both win.
        raise DuplicateReceipt(
            _("Receipt %(number)s is already recorded in this store.")
            % {"number": receipt.receipt_number},
            fields={"receipt_number": _("Already used.")},
        ) from exc
    purchase._state.adding = False
    insert_rows(
        PurchaseLine,
        [
            {
                "purchase_id": purchase.pk,
                "member_id": purchase.member_id,
                "position": position,
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": line.quantity,
                "price": line.price,
                "amount": figures.amount,
                "redeem_points": figures.redeem_points,
                "earn_points": figures.earn_points,
            }
            for position, (line, figures) in enumerate(
                zip(receipt.lines, quote.lines, strict=True), start=1
            )
        ],
    )
    actor = terminal.actor
    if member is not None and (quote.redeem_points or quote.earn_points):
        ledger.purchase_points_in_transaction(
            member_id=member.pk,
            redeem=quote.redeem_points,
            earn=quote.earn_points,
            at=now,
            rules=rules,
            actor=actor,
            purchase_id=purchase.pk,
        )
    audit_record(
        actor=actor,
        action="purchase.commit",
        target_type="purchase",
        target_id=purchase.pk,
        member_id=purchase.member_id,
        data={"amount": quote.amount, "redeem": quote.redeem_points, "earn": quote.earn_points},
    )
    return purchase, QuoteResult(quote, member)


@dataclass(frozen=True)
class ReturnRequestLine:
    sku: str
    quantity: Decimal


def _share(total: int, part: Decimal, whole: Decimal) -> int:
    """floor(total * part / whole): cumulative shares make partial returns add up to the whole."""
    return int((Decimal(total) * part / whole).to_integral_value(rounding="ROUND_FLOOR"))


@transaction.atomic(savepoint=False)
def purchase_return(
    *, terminal: TerminalPrincipal, purchase_id: int, lines: list[ReturnRequestLine]
) -> PurchaseReturn:
    """Return goods: take back earned points and refund redeemed ones in proportion to what comes back.

    Shares are computed on cumulative returned quantities, so several partial returns of a line
    never take back or refund more than the line earned or redeemed, and a full return gives all.
    """
    head = Purchase.objects.filter(pk=purchase_id).values("member_id").first()
    if head is None:
        raise PurchaseNotFound(_("No purchase with this id."))
    if head["member_id"] is not None:
        ledger.member_lock(head["member_id"])  # members before purchases: the commit's lock order
    purchase = Purchase.objects.select_for_update().get(pk=purchase_id)
    bought = list(purchase.lines.order_by("position"))
    returned_before: dict[int, Decimal] = defaultdict(Decimal)
    for line_id, quantity in ReturnLine.objects.filter(
        purchase_line__purchase=purchase
    ).values_list("purchase_line_id", "quantity"):
        returned_before[line_id] += quantity

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
                amount=_share(line.amount, after, line.quantity)
                - _share(line.amount, before, line.quantity),
                earn_reversed=_share(line.earn_points, after, line.quantity)
                - _share(line.earn_points, before, line.quantity),
                redeem_refunded=_share(line.redeem_points, after, line.quantity)
                - _share(line.redeem_points, before, line.quantity),
            )
        )
    now = clock.now()
    take_back = sum(row.earn_reversed for row in rows)
    refund = sum(row.redeem_refunded for row in rows)
    record = PurchaseReturn.objects.create(
        purchase=purchase,
        member_id=purchase.member_id,
        terminal_id=terminal.id,
        created_at=now,
        amount=sum(row.amount for row in rows),
        earn_reversed=take_back,
        redeem_refunded=refund,
    )
    for row in rows:
        row.purchase_return = record
    ReturnLine.objects.bulk_create(rows)
    if purchase.member_id is not None and (take_back or refund):
        taken, _refunded = ledger.return_in_transaction(
            member_id=purchase.member_id,
            purchase_id=purchase.pk,
            return_id=record.pk,
            take_back=take_back,
            refund=refund,
            at=now,
            rules=current_rules(),
            actor=terminal.actor,
        )
        if taken < take_back:
            record.earn_reversed = taken
            record.earn_not_recovered = take_back - taken
            PurchaseReturn.objects.filter(pk=record.pk).update(
                earn_reversed=taken, earn_not_recovered=take_back - taken
            )
    audit_record(
        actor=terminal.actor,
        action="purchase.return",
        target_type="purchase",
        target_id=purchase.pk,
        member_id=purchase.member_id,
        data={"return_id": record.pk, "take_back": record.earn_reversed, "refund": refund},
    )
    return record
