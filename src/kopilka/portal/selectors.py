"""What the member's home page shows, read for one member: points and what they are worth,
when pending points arrive, what expires first, the tier and what it takes, rewards within
reach, and the latest operations each with its reason in plain words."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min

from kopilka.core import clock
from kopilka.ledger.models import PointLot
from kopilka.ledger.selectors import (
    member_balance,
    member_transfers,
    transfer_description,
    transfer_reasons,
)
from kopilka.members.models import Member
from kopilka.members.selectors import member_card_number
from kopilka.members.tiers import TierStatus, tier_status
from kopilka.messaging.texts import valid_through
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
    operations = [
        Operation(
            t.created_at,
            t.points,
            transfer_description(t),
            transfer_reasons(t),
        )
        for t in member_transfers(member.pk, limit=OPERATIONS_SHOWN)
    ]
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
