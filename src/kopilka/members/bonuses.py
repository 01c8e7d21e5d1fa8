"""Event bonuses: points for joining, a completed profile, a birthday and a referral.

Each is one ledger transfer (kind `bonus`, issued to the member, a lot of its own) and one
`BonusGrant` row whose unique (member, kind, key) makes every grant happen once, whether its
event fires twice or its daily job runs twice. Welcome is granted in the enrolment's own
transaction; the others by `bonus_jobs` for a day (`manage.py daily_jobs`), which also catches
up on what an event path missed (a profile completed in the admin, a job that did not run).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.models import BonusGrant
from kopilka.ledger.plan import plan_bonus
from kopilka.ledger.services import member_lock
from kopilka.ledger.state import open_lots
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, ReturnLine
from kopilka.program.engine import Program, lot_dates
from kopilka.program.selectors import program_in_force

Kind = BonusGrant.Kind


def bonus_grant(
    *,
    member_id: int,
    kind: str,
    key: str,
    points: int,
    expires_at: datetime,
    at: datetime,
    actor: Actor,
) -> bool:
    """Give an event bonus once: False (and nothing written) when it was given before."""
    try:
        with transaction.atomic():
            member_lock(member_id)
            if BonusGrant.objects.filter(member_id=member_id, kind=kind, key=key).exists():
                return False
            plan = plan_bonus(
                member_id=member_id,
                points=points,
                reason=kind,
                lots=open_lots(member_id),
                at=at,
                expires_at=expires_at,
                actor_label=actor.label,
            )
            (transfer_id,) = plan_apply(plan)
            BonusGrant.objects.create(
                member_id=member_id, kind=kind, key=key, transfer_id=transfer_id, created_at=at
            )
    except IntegrityError:  # the same grant from another process, a moment earlier
        return False
    return True


def _expiry(program: Program, at: datetime, expiry_days: int | None) -> datetime:
    if expiry_days is None:
        return lot_dates(at, settings.TIME_ZONE, program)[1]
    return clock.days_later_midnight(at, expiry_days + 1)


def welcome_bonus(member: Member, program: Program, actor: Actor) -> bool:
    """At enrolment, inside its transaction; and the profile bonus when the form was complete."""
    given = False
    bonus = program.bonuses.welcome
    at = clock.now()
    if bonus is not None:
        given = bonus_grant(
            member_id=member.pk,
            kind=Kind.WELCOME,
            key="",
            points=bonus.points,
            expires_at=_expiry(program, at, bonus.expiry_days),
            at=at,
            actor=actor,
        )
    profile_bonus(member, program, actor)
    return given


def profile_bonus(member: Member, program: Program, actor: Actor) -> bool:
    """Once, when both the email and the birth date are set."""
    bonus = program.bonuses.profile_completed
    if bonus is None or not (member.email and member.birth_date):
        return False
    at = clock.now()
    return bonus_grant(
        member_id=member.pk,
        kind=Kind.PROFILE_COMPLETED,
        key="",
        points=bonus.points,
        expires_at=_expiry(program, at, bonus.expiry_days),
        at=at,
        actor=actor,
    )


def birthday_in(year: int, birth_date: date) -> date:
    """The member's birthday in `year`: 29 February is the 28th in a year without one."""
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


@dataclass(frozen=True)
class BonusRun:
    day: date
    birthday: int = 0
    profile_completed: int = 0
    referral: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "birthday": self.birthday,
            "profile_completed": self.profile_completed,
            "referral": self.referral,
        }


def bonus_jobs(*, day: date, actor: Actor) -> BonusRun:
    """The event bonuses due on `day` (idempotent: a second run of a day gives nothing more)."""
    at = clock.now()  # the points are given now; `day` says who is due
    program = program_in_force(at)
    bonuses = program.bonuses
    birthday = profile = referral = 0
    if bonuses.birthday is not None:
        birthday = _birthdays(day, at, program, actor)
    if bonuses.profile_completed is not None:
        given = Exists(
            BonusGrant.objects.filter(member=OuterRef("pk"), kind=Kind.PROFILE_COMPLETED)
        )
        complete = Member.objects.filter(
            ~Q(email=""), birth_date__isnull=False, status=Member.Status.ACTIVE
        ).filter(~given)
        profile = sum(profile_bonus(m, program, actor) for m in complete)
    if bonuses.referral is not None:
        referral = _referrals(day, at, program, actor)
    return BonusRun(day=day, birthday=birthday, profile_completed=profile, referral=referral)


def _birthdays(day: date, at: datetime, program: Program, actor: Actor) -> int:
    """Members whose birthday window holds `day`: from `days_before` before the birthday to
    `days_after` after it, so a member who set the date late or a job that did not run still
    gets it; once a year. The points last until the window's end (or `expiry_days`)."""
    bonus = program.bonuses.birthday
    assert bonus is not None
    given = 0
    candidates = Member.objects.filter(birth_date__isnull=False, status=Member.Status.ACTIVE)
    for member in candidates.only("pk", "birth_date"):
        assert member.birth_date is not None
        for year in (day.year - 1, day.year, day.year + 1):  # windows across New Year
            birthday = birthday_in(year, member.birth_date)
            first = birthday - timedelta(days=bonus.days_before)
            last = birthday + timedelta(days=bonus.days_after)
            if first <= day <= last:
                if bonus.expiry_days is None:
                    expires_at = clock.start_of_business_day(last + timedelta(days=1))
                else:
                    expires_at = _expiry(program, at, bonus.expiry_days)
                given += bonus_grant(
                    member_id=member.pk,
                    kind=Kind.BIRTHDAY,
                    key=str(year),
                    points=bonus.points,
                    expires_at=expires_at,
                    at=at,
                    actor=actor,
                )
    return given


def _referrals(day: date, at: datetime, program: Program, actor: Actor) -> int:
    """Friends whose first purchase has stood `after_days` without being returned in full:
    the friend and the member who invited them each get their points, once per friend."""
    bonus = program.bonuses.referral
    assert bonus is not None
    cutoff = clock.start_of_business_day(day + timedelta(days=1)) - timedelta(days=bonus.after_days)
    given_friend = Exists(BonusGrant.objects.filter(member=OuterRef("pk"), kind=Kind.FRIEND))
    friends = Member.objects.filter(referred_by__isnull=False, status=Member.Status.ACTIVE).filter(
        ~given_friend
    )
    granted = 0
    for friend in friends.only("pk", "referred_by_id"):
        first = (
            Purchase.objects.filter(member_id=friend.pk)
            .annotate(bought=Coalesce("purchased_at", "created_at"))
            .order_by("bought", "pk")
            .first()
        )
        if first is None or (first.purchased_at or first.created_at) >= cutoff:
            continue
        returned = (
            ReturnLine.objects.filter(purchase_line__purchase=first).aggregate(n=Sum("amount"))["n"]
            or 0
        )
        if returned >= first.amount:
            continue  # the purchase that made the friend came back: no referral
        expires_at = _expiry(program, at, bonus.expiry_days)
        granted += bonus_grant(
            member_id=friend.pk,
            kind=Kind.FRIEND,
            key="",
            points=bonus.friend_points,
            expires_at=expires_at,
            at=at,
            actor=actor,
        )
        assert friend.referred_by_id is not None
        bonus_grant(
            member_id=friend.referred_by_id,
            kind=Kind.REFERRER,
            key=str(friend.pk),
            points=bonus.referrer_points,
            expires_at=expires_at,
            at=at,
            actor=actor,
        )
    return granted
