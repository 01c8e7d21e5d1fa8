"""What the member's home page shows, read for one member: points and what they are worth,
when pending points arrive, what expires first, the tier and what it takes, rewards within
reach, and the latest operations each with its reason in plain words."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Min

from kopilka.core import clock
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


@dataclass(frozen=True)
class HistoryPage:
    operations: list[Operation]
    kind: str  # the filter ("" for all)
    page: int
    pages: int


def member_history(member: Member, *, kind: str, page: int) -> HistoryPage:
    """The member's operations, newest first, a page at a time; `kind` one of Transfer.Kind."""
    transfers = Transfer.objects.filter(member_id=member.pk)
    if kind in Transfer.Kind.values:
        transfers = transfers.filter(kind=kind)
    else:
        kind = ""
    pages = max(1, -(-transfers.count() // HISTORY_PAGE))
    page = min(max(page, 1), pages)
    chosen = list(
        transfers.select_related("purchase", "purchase__store")
        .prefetch_related("purchase__lines")
        .order_by("-created_at", "-id")[(page - 1) * HISTORY_PAGE : page * HISTORY_PAGE]
    )
    return HistoryPage(
        operations=[_operation(t) for t in chosen],
        kind=kind,
        page=page,
        pages=pages,
    )


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
