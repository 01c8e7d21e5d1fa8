"""Messages the program's events cause, queued by the daily job (`manage.py daily_jobs`).

Each trigger finds the members a day's events concern and queues one message per channel that
would reach them now: an address (a phone, an email, a linked Telegram chat) and the switch the
message needs (advertising: the channel's marketing consent; about the account: the channel's
service switch). The sender checks all of it again when it sends. The text is the admin's
template of the trigger's name for the channel and language (`MessageTemplate`), else the
default here. The deduplication key names the occasion — the expiry date, the birthday's year,
the digest's month, the tier change, the reward, the voucher, the day's purchases — so running a
day twice, or a later day catching up on a missed one, queues nothing twice.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q, Sum
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from kopilka.core import clock
from kopilka.core.money import number_text
from kopilka.ledger.models import PointLot, Transfer
from kopilka.ledger.selectors import member_balance
from kopilka.members.bonuses import birthday_in
from kopilka.members.models import Member, TierChange
from kopilka.members.tiers import tier_status
from kopilka.messaging.models import Message, MessageTemplate, TelegramLink
from kopilka.messaging.services import Consents, message_queue
from kopilka.messaging.texts import advertising, valid_through
from kopilka.program.engine import Program
from kopilka.program.engine.explain import program_explained
from kopilka.program.selectors import program_in_force
from kopilka.rewards.models import Voucher
from kopilka.rewards.services import rewards_for_member

SERVICE, MARKETING = Message.Purpose.SERVICE, Message.Purpose.MARKETING
CHANNELS = (Message.Channel.SMS, Message.Channel.EMAIL, Message.Channel.TELEGRAM)
CHUNK = 2000
MEMBER_FIELDS = (
    "pk",
    "name",
    "language",
    "tier_code",
    "tier_since",
    "tier_at_risk_since",
    "tier_manual_until",
)


@dataclass(frozen=True)
class Trigger:
    """An event's message: its purpose and default texts (English here, Russian in the
    catalogue; `{…}` are `texts.variables_for(name)`)."""

    name: str
    subject: str
    text: str  # email and Telegram
    sms: str

    @property
    def purpose(self) -> str:
        return MARKETING if advertising(self.name) else SERVICE


TRIGGERS = {
    t.name: t
    for t in (
        Trigger(
            "points_expiring",
            gettext_noop("{expiring_points} points can be spent until {expiring_date}"),
            gettext_noop(
                "Hello, {name}!\n\n{expiring_points} of your {balance} points can be spent "
                "until {expiring_date}; after that they expire. Pay with them at the till."
            ),
            gettext_noop("{expiring_points} points can be spent until {expiring_date}."),
        ),
        Trigger(
            "points_earned",
            gettext_noop("{points} points for your purchases"),
            gettext_noop(
                "Hello, {name}!\n\nYour purchases of {day} earned {points} points. "
                "Your balance: {balance} points."
            ),
            gettext_noop("+{points} points. Balance: {balance}."),
        ),
        Trigger(
            "tier_reached",
            gettext_noop("You have reached the {tier} tier"),
            gettext_noop("Hello, {name}!\n\nYou have reached the {tier} tier.\n\n{benefits}"),
            gettext_noop("You have reached the {tier} tier!"),
        ),
        Trigger(
            "tier_at_risk",
            gettext_noop("Keep your {tier} tier"),
            gettext_noop(
                "Hello, {name}!\n\nTo keep the {tier} tier, spend {spend_to_keep} more "
                "by {keep_by}."
            ),
            gettext_noop("Keep the {tier} tier: {spend_to_keep} more by {keep_by}."),
        ),
        Trigger(
            "reward_affordable",
            gettext_noop("Your points buy {reward}"),
            gettext_noop(
                "Hello, {name}!\n\nYour {balance} points now buy {reward} ({reward_price} "
                "points). Ask for it at the till."
            ),
            gettext_noop("Your points buy {reward} now."),
        ),
        Trigger(
            "voucher_expiring",
            gettext_noop("Your voucher for {reward} is valid until {voucher_until}"),
            gettext_noop(
                "Hello, {name}!\n\nYour voucher {voucher} for {reward} is valid until "
                "{voucher_until}. Show it at the till."
            ),
            gettext_noop("Voucher {voucher} ({reward}) is valid until {voucher_until}."),
        ),
        Trigger(
            "birthday",
            gettext_noop("Happy birthday, {name}!"),
            gettext_noop(
                "Happy birthday, {name}!\n\nYou have {balance} points on your card: treat "
                "yourself on us."
            ),
            gettext_noop("Happy birthday! {balance} points are waiting on your card."),
        ),
        Trigger(
            "digest",
            gettext_noop("Your card this month"),
            gettext_noop(
                "Hello, {name}!\n\n{benefits}\n\nYour balance: {balance} points.\n{reward}\n"
                "{expiring}\n{tier_progress}"
            ),
            gettext_noop("Balance: {balance} points. {reward}"),
        ),
    )
}


class _Texts:
    """The text of a trigger on a channel in a language: the admin's template, else ours."""

    def __init__(self) -> None:
        self.templates = {
            (t.name, t.channel, t.language): (t.subject, t.text)
            for t in MessageTemplate.objects.filter(name__in=TRIGGERS)
        }

    def of(self, trigger: Trigger, channel: str, language: str) -> tuple[str, str]:
        found = self.templates.get((trigger.name, channel, language))
        if found is not None:
            return found
        with translation.override(language):
            text = trigger.sms if channel == Message.Channel.SMS else trigger.text
            return gettext(trigger.subject), gettext(text)


def _rubles(kopecks: int) -> str:
    """Money in a message: the figure grouped as `number_text` does, a plain space before ₽."""
    whole, cents = divmod(kopecks, 100)
    grouped = number_text(whole)
    return f"{grouped} ₽" if cents == 0 else f"{grouped},{cents:02d} ₽"


@dataclass
class TriggerRun:
    """What the day's triggers queued: messages per trigger (each channel counts)."""

    day: date
    queued: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "queued": dict(sorted(self.queued.items()))}


def member_values(member: Member, now: datetime, language: str) -> dict[str, str]:
    """The common variables: name, balance and the points expiring soonest."""
    balance = member_balance(member.pk, now)
    horizon = now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    soon = [e for e in balance.expiring if e.expires_at <= horizon]
    with translation.override(language):
        return {
            "name": member.name or gettext("dear customer"),
            "balance": number_text(balance.available),
            "expiring_points": number_text(sum(e.points for e in soon)),
            "expiring_date": valid_through(soon[0].expires_at, language) if soon else "",
        }


class _Queue:
    """Queues a trigger's messages for members, on every channel that would reach them now."""

    def __init__(self, run: TriggerRun, now: datetime) -> None:
        self.run, self.now = run, now
        self.texts = _Texts()
        self._benefits: dict[str, str] = {}

    def benefits(self, program: Program, language: str) -> str:
        """The program's first three advantages in a language, worded once per run."""
        if language not in self._benefits:
            with translation.override(language):
                self._benefits[language] = "\n".join(program_explained(program)[:3])
        return self._benefits[language]

    def reach(self, member_ids: Iterable[int], trigger: Trigger) -> dict[int, list[str]]:
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        chats = set(
            TelegramLink.objects.filter(member_id__in=ids).values_list("member_id", flat=True)
        )
        consents = Consents.of(ids)
        reach: dict[int, list[str]] = {}
        active = Member.objects.filter(pk__in=ids, status=Member.Status.ACTIVE)
        for member_id, phone, email in active.values_list("pk", "phone", "email"):
            addresses = {"sms": phone, "email": email, "telegram": member_id in chats}
            probe = Message(member_id=member_id, purpose=trigger.purpose, trigger=trigger.name)
            for channel in CHANNELS:
                probe.channel = channel
                if addresses[channel] and not consents.check(probe)[0]:
                    reach.setdefault(member_id, []).append(channel)
        return reach

    def values(self, member: Member) -> dict[str, str]:
        return member_values(member, self.now, member.language)

    def queue(
        self,
        trigger: Trigger,
        member: Member,
        channels: list[str],
        occasion: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        values = {**self.values(member), **(extra or {})}
        for channel in channels:
            subject, text = self.texts.of(trigger, channel, member.language)
            queued = message_queue(
                member_id=member.pk,
                channel=channel,
                purpose=trigger.purpose,
                trigger=trigger.name,
                occasion=occasion,
                text=_tidy(text.format_map(values)),
                subject=_tidy(subject.format_map(values)).replace("\n", " "),
                language=member.language,
            )
            if queued is not None:
                self.run.queued[trigger.name] = self.run.queued.get(trigger.name, 0) + 1

    def each(
        self, trigger: Trigger, member_ids: Iterable[int]
    ) -> Iterable[tuple[Member, list[str]]]:
        """The members who can be reached, with their channels, in id order, a chunk at a
        time (the digest's audience is every member)."""
        ids = sorted(set(member_ids))
        for start in range(0, len(ids), CHUNK):
            reach = self.reach(ids[start : start + CHUNK], trigger)
            members = Member.objects.filter(pk__in=reach).order_by("pk")
            for member in members.only(*MEMBER_FIELDS):
                yield member, reach[member.pk]


def _tidy(text: str) -> str:
    """A text whose optional sentences were empty: no blank runs, no trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return clock.start_of_business_day(day), clock.start_of_business_day(day + timedelta(days=1))


def points_expiring(q: _Queue) -> None:
    """Points that expire within `KOPILKA_EXPIRY_WARNING_DAYS`: once per expiry date."""
    horizon = q.now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    firsts = dict(
        PointLot.objects.filter(
            remaining__gt=0, available_at__lte=q.now, expires_at__gt=q.now, expires_at__lte=horizon
        )
        .values("member_id")
        .annotate(first=Min("expires_at"))
        .values_list("member_id", "first")
    )
    trigger = TRIGGERS["points_expiring"]
    for member, channels in q.each(trigger, firsts):
        q.queue(trigger, member, channels, clock.business_date(firsts[member.pk]).isoformat())


def points_earned(q: _Queue, day: date) -> None:
    """The day's points earned on purchases, one message per member and day (when
    `KOPILKA_POINTS_EARNED_MESSAGE` is "daily"; "purchase": each purchase queues its own)."""
    if settings.KOPILKA_POINTS_EARNED_MESSAGE != "daily":
        return
    start, end = _day_bounds(day)
    earned = dict(
        Transfer.objects.filter(kind=Transfer.Kind.EARN, created_at__gte=start, created_at__lt=end)
        .values("member_id")
        .annotate(points=Sum("postings__amount", filter=Q(postings__account="member")))
        .filter(points__gt=0)
        .values_list("member_id", "points")
    )
    trigger = TRIGGERS["points_earned"]
    for member, channels in q.each(trigger, earned):
        shown = valid_through(end, member.language)
        extra = {"points": number_text(int(earned[member.pk])), "day": shown}
        q.queue(trigger, member, channels, day.isoformat(), extra)


def purchase_points_earned(*, member_id: int, purchase_id: int, points: int, at: datetime) -> int:
    """In the purchase's transaction (`KOPILKA_POINTS_EARNED_MESSAGE` = "purchase"): the points
    the purchase earned, on the channels that would reach the member; how many were queued."""
    if settings.KOPILKA_POINTS_EARNED_MESSAGE != "purchase" or points <= 0:
        return 0
    run = TriggerRun(day=clock.business_date(at))
    q = _Queue(run, at)
    trigger = TRIGGERS["points_earned"]
    end = clock.start_of_business_day(run.day + timedelta(days=1))
    for member, channels in q.each(trigger, [member_id]):
        extra = {"points": number_text(points), "day": valid_through(end, member.language)}
        q.queue(trigger, member, channels, f"purchase-{purchase_id}", extra)
    return run.queued.get(trigger.name, 0)


def tiers(q: _Queue, program: Program, day: date) -> None:
    """Tiers reached on the day (once per change) and tiers put at risk (once per episode)."""
    start, end = _day_bounds(day)
    changes = {
        c.member_id: c
        for c in TierChange.objects.filter(
            kind=TierChange.Kind.UPGRADE, created_at__gte=start, created_at__lt=end
        ).order_by("created_at", "pk")
    }
    reached = TRIGGERS["tier_reached"]
    for member, channels in q.each(reached, changes):
        tier = program.tier(changes[member.pk].to_tier)
        if tier is not None:
            extra = {"tier": tier.name, "benefits": q.benefits(program, member.language)}
            q.queue(reached, member, channels, str(changes[member.pk].pk), extra)
    at_risk = TRIGGERS["tier_at_risk"]
    risky = Member.objects.filter(tier_at_risk_since__gte=day - timedelta(days=6))
    for member, channels in q.each(at_risk, risky.values_list("pk", flat=True)):
        status = tier_status(member, program, q.now)
        if status is None or status.tier is None or not status.keep_spend_needed:
            continue
        assert status.keep_by is not None and member.tier_at_risk_since is not None
        extra = {
            "tier": status.tier.name,
            "spend_to_keep": _rubles(status.keep_spend_needed),
            "keep_by": valid_through(clock.start_of_business_day(status.keep_by), member.language),
        }
        q.queue(at_risk, member, channels, member.tier_at_risk_since.isoformat(), extra)


def rewards_affordable(q: _Queue, day: date) -> None:
    """Members whose points grew on the day and now buy a reward: its priciest, once each."""
    start, end = _day_bounds(day)
    grown = Transfer.objects.filter(
        kind__in=[Transfer.Kind.EARN, Transfer.Kind.BONUS, Transfer.Kind.ADJUST],
        created_at__gte=start,
        created_at__lt=end,
    ).values_list("member_id", flat=True)
    trigger = TRIGGERS["reward_affordable"]
    for member, channels in q.each(trigger, grown.distinct()):
        offers = [o for o in rewards_for_member(member, q.now) if o.affordable]
        if offers:
            best = max(offers, key=lambda o: (o.reward.points_price, o.reward.code))
            reward = best.reward
            extra = {"reward": reward.name, "reward_price": number_text(reward.points_price)}
            q.queue(trigger, member, channels, f"{reward.code}:{reward.points_price}", extra)


def vouchers_expiring(q: _Queue) -> None:
    """Unused vouchers that lapse within `KOPILKA_VOUCHER_WARNING_DAYS`: once per voucher."""
    horizon = q.now + timedelta(days=settings.KOPILKA_VOUCHER_WARNING_DAYS)
    lapsing = {
        v.member_id: v
        for v in Voucher.objects.select_related("reward")
        .filter(used_at__isnull=True, valid_until__gt=q.now, valid_until__lte=horizon)
        .order_by("-valid_until", "-pk")  # a member's soonest last: it wins the dict
    }
    trigger = TRIGGERS["voucher_expiring"]
    for member, channels in q.each(trigger, lapsing):
        voucher = lapsing[member.pk]
        extra = {
            "reward": voucher.reward.name,
            "voucher": voucher.code,
            "voucher_until": valid_through(voucher.valid_until, member.language),
        }
        q.queue(trigger, member, channels, voucher.code, extra)


def birthdays(q: _Queue, today: date) -> None:
    """A greeting on the birthday itself (29 February: the 28th in other years)."""
    born = Member.objects.filter(
        birth_date__isnull=False, status=Member.Status.ACTIVE, birth_date__day__in=[today.day, 29]
    ).values_list("pk", "birth_date")
    due = [pk for pk, born_on in born if born_on and birthday_in(today.year, born_on) == today]
    trigger = TRIGGERS["birthday"]
    for member, channels in q.each(trigger, due):
        q.queue(trigger, member, channels, str(today.year))


def digest(q: _Queue, program: Program, today: date) -> None:
    """The monthly benefits digest on `KOPILKA_DIGEST_DAY`: the program's advantages first, then
    the member's balance, what it buys, what expires and the tier ahead."""
    if today.day != settings.KOPILKA_DIGEST_DAY:
        return
    trigger = TRIGGERS["digest"]
    active = Member.objects.filter(status=Member.Status.ACTIVE).values_list("pk", flat=True)
    for member, channels in q.each(trigger, active):
        values = q.values(member)
        with translation.override(member.language):
            sentences = _digest_sentences(member, program, q.now, values)
        extra = {"benefits": q.benefits(program, member.language), **sentences}
        q.queue(trigger, member, channels, today.strftime("%Y-%m"), extra)


def _digest_sentences(
    member: Member, program: Program, now: datetime, values: dict[str, str]
) -> dict[str, str]:
    offers = [o for o in rewards_for_member(member, now) if o.affordable]
    best = max(offers, key=lambda o: o.reward.points_price) if offers else None
    status = tier_status(member, program, now)
    progress = ""
    if status is not None and status.next is not None:
        progress = gettext("%(money)s more to the «%(tier)s» tier.") % {
            "money": _rubles(status.next_spend_needed),
            "tier": status.next.name,
        }
    expiring = ""
    if values["expiring_date"]:
        expiring = gettext("%(points)s points can be spent until %(day)s.") % {
            "points": values["expiring_points"],
            "day": values["expiring_date"],
        }
    return {
        "reward": gettext("They buy you now: %(reward)s.") % {"reward": best.reward.name}
        if best
        else "",
        "expiring": expiring,
        "tier": status.tier.name if status and status.tier else "",
        "tier_progress": progress,
    }


def trigger_messages(*, day: date) -> TriggerRun:
    """Queue the messages of `day`'s events (the day that has just ended; greetings and the
    digest are for the day after it, today). Idempotent by the deduplication keys."""
    run = TriggerRun(day=day)
    now = clock.now()
    today = day + timedelta(days=1)
    program = program_in_force(now)
    q = _Queue(run, now)
    points_expiring(q)
    points_earned(q, day)
    tiers(q, program, day)
    rewards_affordable(q, day)
    vouchers_expiring(q)
    birthdays(q, today)
    digest(q, program, today)
    return run
