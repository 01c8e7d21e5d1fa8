"""What the member's home page shows, read for one member: points and what they are worth,
when pending points arrive, what expires first, the tier and what it takes, rewards within
reach, and the latest operations each with its reason in plain words."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Min, Q, Value
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.money import rubles_text
from kopilka.ledger.models import PointLot, Transfer
from kopilka.ledger.selectors import (
    member_balance,
    member_transfers,
    transfer_description,
    transfer_reasons,
)
from kopilka.members.models import Consent, Member
from kopilka.members.selectors import member_card_number
from kopilka.members.tiers import TierStatus, tier_status
from kopilka.messaging.texts import valid_through
from kopilka.pos.models import Purchase
from kopilka.program.engine import Reason
from kopilka.program.selectors import program_in_force
from kopilka.rewards.models import Voucher
from kopilka.rewards.services import Offer, rewards_for_member

EXPIRING_SHOWN = 3
OPERATIONS_SHOWN = 10


@dataclass(frozen=True)
class Expiry:
    points: int
    last_day: str  # the last day they can be spent, as the language writes a date


@dataclass(frozen=True)
class Operation:
    at: datetime
    points: int  # signed: + earned, − spent or expired
    description: str
    reasons: list[str]
    purchase_id: int | None  # to open the receipt


def _operation(transfer: Transfer) -> Operation:
    return Operation(
        transfer.created_at,
        transfer.points,
        transfer_description(transfer),
        transfer_reasons(transfer),
        transfer.purchase_id,
    )


@dataclass(frozen=True)
class Home:
    member: Member
    card_number: str | None
    available: int
    worth: int  # kopecks the available points pay
    pending: int
    pending_from: str  # the day the first pending points become available ("" if none)
    expiring: list[Expiry]
    tier: TierStatus | None
    offers: list[Offer]  # the catalogue open to the member, cheapest first
    operations: list[Operation]


def member_home(member: Member, language: str) -> Home:
    now = clock.now()
    program = program_in_force(now)
    balance = member_balance(member.pk, now, expiring_limit=EXPIRING_SHOWN)
    first_pending = PointLot.objects.filter(
        member_id=member.pk, remaining__gt=0, available_at__gt=now
    ).aggregate(first=Min("available_at"))["first"]
    operations = [_operation(t) for t in member_transfers(member.pk, limit=OPERATIONS_SHOWN)]
    return Home(
        member=member,
        card_number=member_card_number(member),
        available=balance.available,
        worth=balance.available * program.point_value,
        pending=balance.pending,
        pending_from=_day(first_pending, language) if first_pending else "",
        expiring=[
            Expiry(e.points, valid_through(e.expires_at, language)) for e in balance.expiring
        ],
        tier=tier_status(member, program, now),
        offers=rewards_for_member(member, now),
        operations=operations,
    )


def _day(moment: datetime, language: str) -> str:
    from django.utils import formats, translation

    with translation.override(language):
        return formats.date_format(moment.astimezone(clock.business_tz()), "SHORT_DATE_FORMAT")


HISTORY_PAGE = 20
PURCHASES = "purchase"  # the history's filter for purchases that moved no points
KINDS = [*Transfer.Kind.values, PURCHASES]


@dataclass(frozen=True)
class HistoryPage:
    operations: list[Operation]
    kind: str  # the filter ("" for all)
    since: date | None  # the period's first and last day (business days), None: open
    until: date | None
    page: int
    pages: int


def _purchase_operation(purchase: Purchase) -> Operation:
    """A purchase that moved no points (a discount card, an excluded receipt) still belongs to
    the history, with its discount and its reasons."""
    params = {"receipt": purchase.receipt_number, "store": purchase.store.name}
    if purchase.discount:
        params["discount"] = rubles_text(purchase.discount)
        text = _("Receipt %(receipt)s in %(store)s: discount %(discount)s.") % params
    else:
        text = _("Receipt %(receipt)s in %(store)s: no points.") % params
    reasons = [
        f"{line.name or line.sku}: {Reason.from_stored(stored).render()}"
        for line in purchase.lines.all()
        for stored in line.reasons
        if stored.get("code") in ("line_discount", "excluded")
    ]
    return Operation(purchase.created_at, 0, text, reasons, purchase.pk)


def member_history(
    member: Member,
    *,
    kind: str,
    page: int,
    since: date | None = None,
    until: date | None = None,
) -> HistoryPage:
    """The member's operations and their purchases that moved no points, newest first, a page
    at a time; `kind` one of `KINDS` ("" for all), the period in business days."""
    kind = kind if kind in KINDS else ""
    period = Q()
    if since:
        period &= Q(created_at__gte=clock.start_of_business_day(since))
    if until:
        period &= Q(created_at__lt=clock.start_of_business_day(until + timedelta(days=1)))
    transfers = Transfer.objects.filter(period, member_id=member.pk)
    purchases = Purchase.objects.filter(period, member_id=member.pk, earn_points=0, redeem_points=0)
    if kind == PURCHASES:
        transfers = transfers.none()
    elif kind:
        transfers, purchases = transfers.filter(kind=kind), purchases.none()
    rows = (
        transfers.annotate(table=Value("t"))
        .values_list("created_at", "id", "table")
        .union(
            purchases.annotate(table=Value("p")).values_list("created_at", "id", "table"), all=True
        )
    )
    pages = max(1, -(-(transfers.count() + purchases.count()) // HISTORY_PAGE))
    page = min(max(page, 1), pages)
    chosen = list(
        rows.order_by("-created_at", "-id")[(page - 1) * HISTORY_PAGE : page * HISTORY_PAGE]
    )
    found_transfers = (
        Transfer.objects.filter(pk__in=[pk for _, pk, table in chosen if table == "t"])
        .select_related("purchase", "purchase__store")
        .prefetch_related("purchase__lines")
        .in_bulk()
    )
    found_purchases = (
        Purchase.objects.filter(pk__in=[pk for _, pk, table in chosen if table == "p"])
        .select_related("store")
        .prefetch_related("lines")
        .in_bulk()
    )
    operations = [
        _operation(found_transfers[pk])
        if table == "t"
        else _purchase_operation(found_purchases[pk])
        for _, pk, table in chosen
    ]
    return HistoryPage(operations, kind, since, until, page, pages)


@dataclass(frozen=True)
class LineShown:
    name: str
    quantity: Decimal
    amount: int
    discount: int
    paid_with_points: int
    earned: int
    reasons: list[str]


def member_purchase(member: Member, purchase_id: int) -> tuple[Purchase, list[LineShown]] | None:
    """One of the member's own purchases with each line's figures and reasons (None: not theirs)."""
    purchase = (
        Purchase.objects.select_related("store").filter(pk=purchase_id, member_id=member.pk).first()
    )
    if purchase is None:
        return None
    lines = [
        LineShown(
            line.name or line.sku,
            line.quantity,
            line.amount,
            line.discount,
            line.redeem_points,
            line.earn_points,
            [Reason.from_stored(stored).render() for stored in line.reasons],
        )
        for line in purchase.lines.order_by("position")
    ]
    return purchase, lines


@dataclass(frozen=True)
class Decision:
    consent: Consent
    withdrew: bool  # a consent given before; a box left unticked at joining was never given


def consent_history(member: Member) -> list[Decision]:
    """The member's consent decisions, newest first."""
    decisions = []
    given_before: set[tuple[str, str]] = set()
    for consent in Consent.objects.filter(member=member).order_by("recorded_at", "pk"):
        key = (consent.purpose, consent.channel)
        decisions.append(Decision(consent, not consent.given and key in given_before))
        if consent.given:
            given_before.add(key)
    return decisions[::-1]


@dataclass(frozen=True)
class VoucherShown:
    voucher: Voucher
    state: str  # "active", "used" or "expired"


def _shown(voucher: Voucher, now: datetime) -> VoucherShown:
    if voucher.used_at is not None:
        return VoucherShown(voucher, "used")
    return VoucherShown(voucher, "active" if voucher.valid_until > now else "expired")


def member_vouchers(member: Member, *, limit: int = 20) -> list[VoucherShown]:
    """The member's latest vouchers: the usable ones first, soonest to lapse first."""
    now = clock.now()
    latest = Voucher.objects.filter(member=member).select_related("reward").order_by("-issued_at")
    shown = [_shown(voucher, now) for voucher in latest[:limit]]
    active = sorted((s for s in shown if s.state == "active"), key=lambda s: s.voucher.valid_until)
    return active + [s for s in shown if s.state != "active"]


def member_voucher(member: Member, code: str) -> VoucherShown | None:
    """One of the member's vouchers by its code (another member's: None)."""
    found = Voucher.objects.filter(member=member, code=code).select_related("reward").first()
    return _shown(found, clock.now()) if found is not None else None
