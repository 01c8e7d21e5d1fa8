"""Purchases and returns: quote, commit (earn + redeem atomically) and proportional returns."""

import json
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import audit_record
from kopilka.core.errors import Conflict, DomainError, NotFound
from kopilka.core.idempotency import run_idempotent
from kopilka.core.money import format_rubles
from kopilka.core.phones import normalize_phone
from kopilka.core.sql import insert_row, insert_rows, prepared_cursor, read_first
from kopilka.ledger import services as ledger
from kopilka.ledger.models import PointLot
from kopilka.ledger.selectors import member_points
from kopilka.members.models import Card, Member
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


class ReceiptTooLarge(DomainError):
    code = "receipt_amount_too_large"


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
    member_id: int | None


def _member_id_for(ref: MemberRef) -> int:
    if ref.member_id is not None:
        return ref.member_id  # locked by id right after: no separate read
    return member_find(phone=ref.phone, card=ref.card_number).pk


def _check_active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive(
            _("This member's account is %(status)s.") % {"status": member.get_status_display()}
        )


def receipt_check(terminal: TerminalPrincipal, receipt: ReceiptIn) -> None:
    """What every receipt must pass before the rules: the terminal's own store, and an amount
    within KOPILKA_MAX_RECEIPT_AMOUNT."""
    store_check(terminal, receipt.store)
    amount = sum(engine.line_amount(line) for line in receipt.lines)
    if amount > settings.KOPILKA_MAX_RECEIPT_AMOUNT:
        limit = format_rubles(settings.KOPILKA_MAX_RECEIPT_AMOUNT)
        raise ReceiptTooLarge(
            _("A receipt may be at most %(limit)s ₽; this one is %(amount)s ₽.")
            % {"limit": limit, "amount": format_rubles(amount)},
            fields={"lines": _("At most %(limit)s ₽ in all.") % {"limit": limit}},
        )


def receipt_quote(*, terminal: TerminalPrincipal, receipt: ReceiptIn) -> QuoteResult:
    """The dry run behind /receipts/calculate: the same engine as the commit, nothing written."""
    receipt_check(terminal, receipt)
    snapshot = None
    if receipt.member.given:
        ref = receipt.member
        member = member_find(member_id=ref.member_id, phone=ref.phone, card=ref.card_number)
        _check_active(member)
        available, pending = member_points(member.pk, clock.now())
        snapshot = engine.MemberSnapshot(member_id=member.pk, available=available, pending=pending)
    quote = engine.quote(receipt.lines, snapshot, current_rules(), receipt.redeem)
    return QuoteResult(quote, snapshot.member_id if snapshot else None)


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


def _purchase(
    terminal: TerminalPrincipal,
    receipt: ReceiptIn,
    quote: engine.Quote,
    member_id: int | None,
    at: datetime,
) -> Purchase:
    return Purchase(
        store_id=terminal.store_id,
        terminal_id=terminal.id,
        member_id=member_id,
        receipt_number=receipt.receipt_number,
        created_at=at,
        amount=quote.amount,
        redeem_points=quote.redeem_points,
        payable=quote.payable,
        earn_points=quote.earn_points,
    )


def _line_rows(receipt: ReceiptIn, quote: engine.Quote) -> list[dict[str, object]]:
    """The receipt's lines with the quote's figures, as both commit paths write them."""
    return [
        {
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
    ]


def _audit_data(quote: engine.Quote) -> dict[str, object]:
    """The purchase.commit audit row's data, as both commit paths write it."""
    return {"amount": quote.amount, "redeem": quote.redeem_points, "earn": quote.earn_points}


@transaction.atomic(savepoint=False)
def purchase_commit(
    *, terminal: TerminalPrincipal, receipt: ReceiptIn
) -> tuple[Purchase, QuoteResult]:
    """Record a purchase; redeem and earn its points in the same transaction, under the member's lock."""
    receipt_check(terminal, receipt)
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
    purchase = _purchase(terminal, receipt, quote, member.pk if member else None, now)
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
            {"purchase_id": purchase.pk, "member_id": purchase.member_id, **row}
            for row in _line_rows(receipt, quote)
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
        data=_audit_data(quote),
    )
    return purchase, QuoteResult(quote, member.pk if member else None)


Render = Callable[[Purchase, QuoteResult], dict[str, object]]


def purchase_commit_once(
    *, terminal: TerminalPrincipal, receipt: ReceiptIn, key: str, request_hash: str, render: Render
) -> tuple[int, dict[str, object]]:
    """Commit a purchase once per Idempotency-Key: a retry gets the first (status, body) back.

    On PostgreSQL a purchase is two statements: a read of the member's points, and one call of
    `kopilka_purchase_commit` that writes everything if nothing changed in between. A key seen
    before, a member whose points or status changed, any refusal: those take the locked path
    below (`run_idempotent` around `purchase_commit`), which gives the answer.
    """
    if connection.vendor == "postgresql":
        body = _commit_in_one_statement(
            terminal=terminal, receipt=receipt, key=key, request_hash=request_hash, render=render
        )
        if body is not None:
            return 201, body

    def work() -> tuple[int, dict[str, object]]:
        return 201, render(*purchase_commit(terminal=terminal, receipt=receipt))

    return run_idempotent(
        scope=idempotency_scope(terminal), key=key, request_hash=request_hash, work=work
    )


def idempotency_scope(terminal: TerminalPrincipal) -> str:
    return f"terminal:{terminal.id}"


def _member_read_sql(where: str) -> str:
    return (
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')), m.id, m.status, "
        "COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at <= %s), 0), "
        "COALESCE(SUM(l.remaining) FILTER (WHERE l.available_at > %s), 0) "
        f"FROM {Member._meta.db_table} m LEFT JOIN {PointLot._meta.db_table} l "
        "ON l.member_id = m.id AND l.remaining > 0 AND l.expires_at > %s "
        f"WHERE {where} GROUP BY m.id"
    )


_MEMBER_READ_SQL = {
    "id": _member_read_sql("m.id = %s"),
    "phone": _member_read_sql("m.phone = %s"),
    "card": _member_read_sql(
        f"m.id = (SELECT member_id FROM {Card._meta.db_table} WHERE number = %s AND status = %s)"
    ),
}
# Raised by kopilka_purchase_commit (key in use, member changed) and for a used receipt number.
_LOCKED_PATH_DECIDES = {"KP001", "KP002", "23505"}


def _read_for_commit(ref: MemberRef, at: datetime) -> tuple[int, engine.MemberSnapshot | None]:
    """A purchase id, and the member's points now (no lock: the commit checks them again).

    The request's first statement, so it is also the connection's health check (`read_first`).
    """
    table = Purchase._meta.db_table
    if not ref.given:
        row = read_first("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        assert row is not None
        return row[0], None
    values: list[object]
    if ref.member_id is not None:
        kind, values = "id", [ref.member_id]
    elif ref.phone:
        kind, values = "phone", [normalize_phone(ref.phone)]
    else:
        kind, values = "card", [(ref.card_number or "").strip(), Card.Status.ACTIVE]
    row = read_first(_MEMBER_READ_SQL[kind], [table, at, at, at, *values])
    if row is None or row[2] != Member.Status.ACTIVE:
        raise MemberInactive("not found or not active")  # the locked path words the answer
    purchase_id, member_id, _status, available, pending = row
    return purchase_id, engine.MemberSnapshot(
        member_id=member_id, available=int(available), pending=int(pending)
    )


def _commit_in_one_statement(
    *, terminal: TerminalPrincipal, receipt: ReceiptIn, key: str, request_hash: str, render: Render
) -> dict[str, object] | None:
    """The usual purchase in two statements; None when the locked path must decide."""
    now = clock.now()
    rules = current_rules()
    try:
        receipt_check(terminal, receipt)
        purchase_id, snapshot = _read_for_commit(receipt.member, now)
        quote = engine.quote(receipt.lines, snapshot, rules, receipt.redeem)
    except DomainError:
        return None
    member_id = snapshot.member_id if snapshot else None
    purchase = _purchase(terminal, receipt, quote, member_id, now)
    purchase.pk = purchase_id
    body = render(purchase, QuoteResult(quote, member_id))
    plan = ledger.purchase_points_plan(
        redeem=quote.redeem_points, earn=quote.earn_points, at=now, rules=rules
    )
    payload = {
        **plan,
        "scope": idempotency_scope(terminal),
        "key": key,
        "request_hash": request_hash,
        "response": body,
        "at": now.isoformat(),
        "purchase_id": purchase_id,
        "member_id": purchase.member_id,
        "available": snapshot.available if snapshot else 0,
        "pending": snapshot.pending if snapshot else 0,
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "receipt_number": receipt.receipt_number,
        "amount": quote.amount,
        "payable": quote.payable,
        "redeem": quote.redeem_points,
        "earn": quote.earn_points,
        "lines": _line_rows(receipt, quote),
        "actor_label": terminal.actor.label,
        "audit": _audit_data(quote),
    }
    # Inside a transaction (tests, a caller's atomic block) a savepoint keeps a refusal contained;
    # otherwise the statement is its own transaction.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, prepared_cursor() as cursor:
            cursor.execute(
                "SELECT kopilka_purchase_commit(%s::jsonb)",
                [json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)],
            )
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in _LOCKED_PATH_DECIDES:
            return None
        raise
    return body


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
    # Another store's purchase is "not found", so a terminal can't even confirm that its id exists.
    mine = Purchase.objects.filter(pk=purchase_id, store_id=terminal.store_id)
    head = mine.values("member_id").first()
    if head is None:
        raise PurchaseNotFound(_("No purchase with this id in this store."))
    if head["member_id"] is not None:
        ledger.member_lock(head["member_id"])  # members before purchases: the commit's lock order
    purchase = mine.select_for_update().get()
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
