"""What a receipt is and what a purchase writes: the values both commit paths take, the checks
every receipt passes, and the rows they write (`pos.services` on the locked path,
`pos.fast_commit` in one statement), so the two paths cannot drift apart."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from kopilka.core.errors import Conflict, DomainError
from kopilka.core.money import format_rubles
from kopilka.ledger.plan import OpenLot, Plan, plan_purchase
from kopilka.pos.models import Purchase
from kopilka.pos.stores import Seller
from kopilka.pos.terminals import store_check
from kopilka.program import engine

MAX_AHEAD = timedelta(minutes=5)
MAX_BEHIND = timedelta(days=30)


class DuplicateReceipt(Conflict):
    code = "duplicate_receipt"


class MemberInactive(DomainError):
    code = "member_inactive"


class ReceiptTooLarge(DomainError):
    code = "receipt_amount_too_large"


class PurchasedAtOutOfRange(DomainError):
    code = "purchased_at_out_of_range"


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
    redeem: engine.Redeem
    receipt_number: str = ""
    purchased_at: datetime | None = None
    vouchers: tuple[str, ...] = ()  # codes, resolved by rewards.selectors.vouchers_for


@dataclass(frozen=True)
class QuoteResult:
    quote: engine.Quote
    member_id: int | None


def receipt_check(seller: Seller, receipt: ReceiptIn, now: datetime) -> None:
    """What every receipt must pass before the rules: the seller's own store, an amount within
    KOPILKA_MAX_RECEIPT_AMOUNT, and a time at most 5 minutes ahead and 30 days back."""
    store_check(seller, receipt.store)
    amount = sum(engine.line_amount(line) for line in receipt.lines)
    if amount > settings.KOPILKA_MAX_RECEIPT_AMOUNT:
        limit = format_rubles(settings.KOPILKA_MAX_RECEIPT_AMOUNT)
        raise ReceiptTooLarge(
            _("A receipt may be at most %(limit)s ₽; this one is %(amount)s ₽.")
            % {"limit": limit, "amount": format_rubles(amount)},
            fields={"lines": _("At most %(limit)s ₽ in all.") % {"limit": limit}},
        )
    at = receipt.purchased_at
    if at is not None and not (now - MAX_BEHIND <= at <= now + MAX_AHEAD):
        raise PurchasedAtOutOfRange(
            _("purchased_at must be at most 5 minutes ahead of now and at most 30 days back."),
            fields={
                "purchased_at": _("From %(earliest)s to %(latest)s.")
                % {
                    "earliest": (now - MAX_BEHIND).isoformat(timespec="seconds"),
                    "latest": (now + MAX_AHEAD).isoformat(timespec="seconds"),
                }
            },
        )


def engine_receipt(
    seller: Seller,
    receipt: ReceiptIn,
    now: datetime,
    vouchers: tuple[engine.VoucherTerms, ...] = (),
) -> engine.Receipt:
    return engine.Receipt(
        store=seller.store.code,
        at=receipt.purchased_at or now,
        time_zone=seller.store.time_zone,
        lines=receipt.lines,
        vouchers=vouchers,
    )


def purchase_row(
    seller: Seller, receipt: ReceiptIn, quote: engine.Quote, member_id: int | None, at: datetime
) -> dict[str, object]:
    """The purchase row, as both commit paths write it."""
    return {
        "store_id": seller.store.id,
        "terminal_id": seller.actor.terminal_id,
        "member_id": member_id,
        "receipt_number": receipt.receipt_number,
        "created_at": at,
        "purchased_at": receipt.purchased_at or at,
        "amount": quote.amount,
        "discount": quote.discount,
        "redeem_points": quote.redeem_points,
        "payable": quote.payable,
        "earn_points": quote.earn_points,
        "program_version_id": quote.program_version or None,
        "reasons": [reason.stored() for reason in quote.reasons],
    }


def line_rows(
    purchase_id: int, member_id: int | None, receipt: ReceiptIn, quote: engine.Quote
) -> list[dict[str, object]]:
    """The receipt's lines with the quote's figures and reasons, as both commit paths write them."""
    return [
        {
            "purchase_id": purchase_id,
            "member_id": member_id,
            "position": position,
            "sku": line.sku,
            "name": line.name,
            "category": line.category,
            "quantity": line.quantity,
            "price": line.price,
            "amount": figures.amount,
            "discount": figures.discount,
            "redeem_points": figures.redeem_points,
            "earn_points": figures.earn_points,
            "rules": list(figures.rules),
            "reasons": [reason.stored() for reason in figures.reasons],
        }
        for position, (line, figures) in enumerate(
            zip(receipt.lines, quote.lines, strict=True), start=1
        )
    ]


def audit_data(quote: engine.Quote) -> dict[str, object]:
    """The purchase.commit audit row's data, as both commit paths write it."""
    return {
        "amount": quote.amount,
        "discount": quote.discount,
        "redeem": quote.redeem_points,
        "earn": quote.earn_points,
        "program_version": quote.program_version,
    }


def _share(total: int, part: Decimal, whole: Decimal) -> int:
    """floor(total * part / whole): cumulative shares make partial returns add up to the whole."""
    return int((Decimal(total) * part / whole).to_integral_value(rounding="ROUND_FLOOR"))


def returned_share(figure: int, whole: Decimal, before: Decimal, after: Decimal) -> int:
    """What of a line's `figure` (for `whole` units) comes back when the units returned so far go
    from `before` to `after`: the return service and the what-if replay both share by it."""
    return _share(figure, after, whole) - _share(figure, before, whole)


def purchase_plan(
    seller: Seller,
    quote: engine.Quote,
    member_id: int,
    purchase_id: int,
    lots: list[OpenLot],
    at: datetime,
) -> Plan:
    return plan_purchase(
        member_id=member_id,
        purchase_id=purchase_id,
        effects=quote.effects,
        lots=lots,
        at=at,
        actor_label=seller.actor.label,
        spend_delta=quote.amount - quote.discount,
    )


def purchase_instance(row: dict[str, object], purchase_id: int) -> Purchase:
    purchase = Purchase(pk=purchase_id, **row)
    purchase._state.adding = False
    return purchase
