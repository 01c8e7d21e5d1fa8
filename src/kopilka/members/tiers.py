"""A member's tier: where it stands (`tier_status`), the daily review that lowers it after the
grace period (`tier_review`), and a tier set by staff (`tier_set_manual`).

A purchase raises the tier itself (the engine's `TierReached`, written by `ledger.apply`); only
the review lowers it, never a return alone. The spend a tier counts is
`ledger.state.window_spend`: purchases of the last `tier_window_days` after discounts, less what
was returned of them.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.core.money import format_rubles
from kopilka.ledger.services import member_lock
from kopilka.ledger.state import window_spend, window_start
from kopilka.members.models import Member, TierChange
from kopilka.pos.models import Purchase
from kopilka.program.engine import Program, Reason, Tier, next_tier
from kopilka.program.selectors import program_in_force


@dataclass(frozen=True)
class TierStatus:
    tier: Tier | None  # None: below the first tier (or a code the program no longer has)
    since: datetime | None
    manual_until: date | None
    spend_in_window: int  # kopecks
    next: Tier | None
    next_spend_needed: int  # kopecks, 0 when there is no next tier
    keep_spend_needed: int  # kopecks the member must spend to keep the tier, 0: nothing
    keep_by: date | None  # the day the grace period ends


def tier_status(member: Member, program: Program, at: datetime) -> TierStatus | None:
    """Where the member stands among the program's tiers at `at` (None: no tiers)."""
    if not program.tiers:
        return None
    spend = window_spend(member.pk, window_start(at, program))
    tier = program.tier(member.tier_code) if member.tier_code else None
    ahead = next_tier(program, tier)
    keep, by = 0, None
    manual = (
        member.tier_manual_until is not None and member.tier_manual_until >= clock.business_date(at)
    )
    if tier is not None and not manual and spend < tier.qualify_spend:
        keep = tier.qualify_spend - spend
        at_risk = member.tier_at_risk_since or clock.business_date(at)
        by = at_risk + timedelta(days=program.tier_grace_days)
    return TierStatus(
        tier=tier,
        since=member.tier_since,
        manual_until=member.tier_manual_until if manual else None,
        spend_in_window=spend,
        next=ahead,
        next_spend_needed=max(0, ahead.qualify_spend - spend) if ahead else 0,
        keep_spend_needed=keep,
        keep_by=by,
    )


@dataclass(frozen=True)
class TierReview:
    day: date
    reviewed: int
    raised: int
    lowered: int
    at_risk: int  # below their tier's spend, within the grace period

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "reviewed": self.reviewed,
            "raised": self.raised,
            "lowered": self.lowered,
            "at_risk": self.at_risk,
        }


def tier_review(*, day: date, actor: Actor) -> TierReview:
    """The daily review for `day` (idempotent: a second run of a day changes nothing more).

    A member whose spend in the window reached a higher tier gets it (a purchase normally did
    that already); a member below their tier's spend is at risk from the first review that sees
    it, and is lowered to the tier the spend reaches once `tier_grace_days` have passed. A tier
    set by staff holds through its end date, and the grace period starts after it.
    """
    at = clock.start_of_business_day(day + timedelta(days=1))  # the day's purchases all count
    program = program_in_force(at)
    candidates = Member.objects.exclude(tier_code="")
    if program.tiers:
        first = program.tiers[0].qualify_spend
        since = window_start(at, program)
        spenders = _members_spending(since, first)
        candidates = Member.objects.filter(pk__in=spenders) | candidates
    counts = {"raised": 0, "lowered": 0, "at_risk": 0}
    ids = list(candidates.order_by("pk").values_list("pk", flat=True))
    for member_id in ids:
        outcome = _review_one(member_id, program, day, at, actor)
        if outcome:
            counts[outcome] += 1
    return TierReview(day=day, reviewed=len(ids), **counts)


def _members_spending(since: datetime, at_least: int) -> list[int]:
    """Members whose purchases since `since` (before returns) add up to `at_least`: the
    review looks closer at each."""
    return list(
        Purchase.objects.filter(member_id__isnull=False)
        .alias(bought=Coalesce("purchased_at", "created_at"))
        .filter(bought__gte=since)
        .values("member_id")
        .annotate(total=Sum(F("amount") - F("discount")))
        .filter(total__gte=at_least)
        .values_list("member_id", flat=True)
    )


@transaction.atomic
def _review_one(
    member_id: int, program: Program, day: date, at: datetime, actor: Actor
) -> str | None:
    member_lock(member_id)
    member = Member.objects.get(pk=member_id)
    if member.tier_manual_until is not None:
        if member.tier_manual_until >= day:
            return None
        Member.objects.filter(pk=member_id).update(tier_manual_until=None, tier_at_risk_since=day)
        member.tier_manual_until, member.tier_at_risk_since = None, day
    spend = window_spend(member_id, window_start(at, program))
    current = program.tier(member.tier_code) if member.tier_code else None
    reached = program.tier_for(spend)
    current_spend = current.qualify_spend if current else 0
    reached_spend = reached.qualify_spend if reached else 0
    if member.tier_code and current is None:  # a tier the program no longer has
        return _change(member, reached, spend, program, at, actor, "tier_removed")
    if reached_spend > current_spend:
        return _change(member, reached, spend, program, at, actor, "tier_upgrade")
    if reached_spend == current_spend:
        if member.tier_at_risk_since is not None:
            Member.objects.filter(pk=member_id).update(tier_at_risk_since=None)
        return None
    # below the tier's spend: at risk until the grace period ends
    if member.tier_at_risk_since is None:
        Member.objects.filter(pk=member_id).update(tier_at_risk_since=day)
        return "at_risk"
    if day < member.tier_at_risk_since + timedelta(days=program.tier_grace_days):
        return "at_risk"
    return _change(member, reached, spend, program, at, actor, "tier_downgrade")


def _change(
    member: Member,
    tier: Tier | None,
    spend: int,
    program: Program,
    at: datetime,
    actor: Actor,
    code: str,
) -> str:
    current = program.tier(member.tier_code)
    params: dict[str, object] = {
        "tier": tier.name if tier else "",
        "previous": current.name if current else member.tier_code,
        "spend": format_rubles(spend),
        "days": program.tier_window_days,
    }
    if code == "tier_downgrade" and current is not None:
        params |= {
            "threshold": format_rubles(current.qualify_spend),
            "grace": program.tier_grace_days,
        }
    if code == "tier_upgrade" and tier is not None:
        params["threshold"] = format_rubles(tier.qualify_spend)
    raised = code == "tier_upgrade"
    Member.objects.filter(pk=member.pk).update(
        tier_code=tier.code if tier else "",
        tier_since=at if tier else None,
        tier_at_risk_since=None,
        state_version=F("state_version") + 1,
    )
    TierChange.objects.create(
        member_id=member.pk,
        created_at=at,
        kind=TierChange.Kind.UPGRADE if raised else TierChange.Kind.DOWNGRADE,
        from_tier=member.tier_code,
        to_tier=tier.code if tier else "",
        window_spend=spend,
        actor_label=actor.label,
        reason=Reason(code, params).stored(),
    )
    return "raised" if raised else "lowered"


class UnknownTier(DomainError):
    code = "tier_not_found"


class TierUntilPast(DomainError):
    code = "tier_until_in_past"


@transaction.atomic
def tier_set_manual(
    *, member_id: int, tier_code: str, until: date, note: str, actor: Actor
) -> TierChange:
    """Staff put a member on a tier (or below all with ""), holding through `until`; the
    member's page and the API show it as set by staff, with its end date."""
    program = program_in_force()
    tier = program.tier(tier_code) if tier_code else None
    if tier_code and tier is None:
        raise UnknownTier(_("The program has no tier with this code."))
    if until < clock.business_date(clock.now()):
        raise TierUntilPast(_("The end date of a manual tier must not be in the past."))
    member = member_lock(member_id)
    now = clock.now()
    Member.objects.filter(pk=member.pk).update(
        tier_code=tier_code,
        tier_since=now,
        tier_manual_until=until,
        tier_at_risk_since=None,
        state_version=F("state_version") + 1,
    )
    change = TierChange.objects.create(
        member_id=member.pk,
        created_at=now,
        kind=TierChange.Kind.MANUAL,
        from_tier=member.tier_code,
        to_tier=tier_code,
        window_spend=window_spend(member.pk, window_start(now, program)),
        actor_label=actor.label,
        reason=Reason(
            "tier_manual",
            {"tier": tier.name if tier else "", "until": until.isoformat(), "note": note},
        ).stored(),
    )
    audit_record(
        actor=actor,
        action="member.tier_set",
        target_type="member",
        target_id=member.pk,
        member_id=member.pk,
        data={"tier": tier_code, "until": until.isoformat(), "note": note},
    )
    return change
