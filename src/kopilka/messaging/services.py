"""Queue messages and send what is due: the outbox's two sides.

`message_queue` writes a row in the caller's transaction (the event that causes it), unique by
its deduplication key. `messages_send_due` is the worker's round. It locks up to `limit` due rows
(`SKIP LOCKED`: another worker takes others) and then their members' rows in id order, and in that
one transaction decides each message, at send time:

1. the member is active and has an address on the channel;
2. advertising: the member's latest marketing consent for the channel is "given" (its id and
   text version are stored with the message); a service message: the member has not turned that
   channel off (SMS is off until turned on, email and Telegram on);
3. quiet hours in the member's local time (login codes are exempt): the message waits for their
   end, it is not dropped;
4. advertising: fewer than the channel's cap sent in its window (what is being sent counts,
   this round's too; another worker's wait on the member lock, so they count as well).

Those that pass are claimed (status `sending`, a lease, one attempt more) and the transaction
commits; then each channel sends its batch outside any transaction (the SMS file outbox: one
fsync for the batch), and one statement marks them sent. A worker killed between the provider's
answer and that update leaves the lease to run out; the next worker asks the channel whether the
message went out (the file outboxes can tell: exactly once) and otherwise sends it again (SMTP
and HTTP providers: at least once).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from kopilka.core import clock
from kopilka.core.sql import update_rows
from kopilka.members.models import Consent, Member
from kopilka.members.selectors import switch_on
from kopilka.messaging.channels import Outgoing, SendFailed, Sent, channel_for
from kopilka.messaging.models import Message, TelegramLink
from kopilka.messaging.rules import backoff, cap_reached, quiet_hours_parse, quiet_until
from kopilka.messaging.texts import sms_unsubscribe_added
from kopilka.messaging.unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
EXEMPT_FROM_QUIET_HOURS = {"login_code", "join_code", "email_confirm"}
CLAIMED_FIELDS = [
    "status", "lease_until", "attempts", "address", "consent", "consent_text_version", "reason",
]  # fmt: skip
UNSUBSCRIBE_SOURCES = ("unsubscribe", "sms:stop", "telegram:stop")  # the member's own "stop"
# what the person asked for just now is never switched off
ALWAYS_SENT = {"login_code", "join_code", "email_confirm"}
# sent to the address it was queued with: a phone with no member yet, an email not yet confirmed
TO_ADDRESS = {"join_code", "email_confirm"}
R = Message.Reason


def message_queue(
    *,
    member_id: int | None,
    channel: str,
    purpose: str,
    trigger: str,
    occasion: str,
    text: str,
    subject: str = "",
    language: str = "ru",
    due_at: datetime | None = None,
    address: str = "",
) -> Message | None:
    """Queue one message; None when (trigger, member, occasion) was queued before. A
    `TO_ADDRESS` trigger's message goes to `address` (its member, if any, is who asked), with no
    consent to check; any other goes to its member's address on the channel."""
    if (trigger in TO_ADDRESS and not address) or (trigger not in TO_ADDRESS and member_id is None):
        raise ValueError(f"{trigger}: a member, or an address for {sorted(TO_ADDRESS)}")
    now = clock.now()
    try:
        with transaction.atomic():
            return Message.objects.create(
                member_id=member_id,
                address=address,
                channel=channel,
                purpose=purpose,
                trigger=trigger,
                dedup_key=f"{trigger}:{member_id}:{channel}:{occasion}",
                text=text,
                subject=subject,
                language=language,
                created_at=now,
                due_at=due_at or now,
            )
    except IntegrityError:
        return None


@dataclass
class SendReport:
    sent: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return (
            self.sent + sum(self.suppressed.values()) + self.deferred + self.retried + self.failed
        )


@dataclass(frozen=True)
class _Claimed:
    message: Message
    outgoing: Outgoing
    resumed: bool  # taken over from a worker whose lease ran out


def _address(member: Member, channel: str, chats: dict[int, int]) -> str:
    if channel == Message.Channel.SMS:
        return member.phone
    if channel == Message.Channel.EMAIL:
        return member.email
    chat = chats.get(member.pk)  # Telegram: the chat the member linked through the bot
    return str(chat) if chat is not None else ""


def _zone(member: Member) -> ZoneInfo:
    store = member.enrolled_store
    return ZoneInfo(store.time_zone) if store is not None else clock.business_tz()


ConsentKey = tuple[int | None, str, str]  # member, purpose, channel


@dataclass
class Consents:
    """The members' consent decisions, read once for a batch: the latest per (purpose, channel),
    and whether an earlier one had been given."""

    latest: dict[ConsentKey, Consent] = field(default_factory=dict)
    ever_given: set[ConsentKey] = field(default_factory=set)

    @classmethod
    def of(cls, member_ids: list[int]) -> "Consents":
        found = cls()
        for decision in Consent.objects.filter(
            member_id__in=member_ids,
            purpose__in=[Consent.Purpose.MARKETING, Consent.Purpose.SERVICE],
        ).order_by("recorded_at", "id"):
            key = (decision.member_id, decision.purpose, decision.channel)
            found.latest[key] = decision
            if decision.given:
                found.ever_given.add(key)
        return found

    def check(self, message: Message) -> tuple[str, Consent | None]:
        """(reason it may not be sent or "", the consent relied on)."""
        if message.purpose == Message.Purpose.MARKETING:
            key = (message.member_id, Consent.Purpose.MARKETING, message.channel)
            decision = self.latest.get(key)
            if decision is None:
                return R.NO_CONSENT, None
            if decision.given:
                return "", decision
            if decision.source.startswith(UNSUBSCRIBE_SOURCES):
                return R.UNSUBSCRIBED, None
            return (R.CONSENT_WITHDRAWN if key in self.ever_given else R.NO_CONSENT), None
        if message.trigger in ALWAYS_SENT:
            return "", None
        purpose = Consent.Purpose.SERVICE
        choice = self.latest.get((message.member_id, purpose, message.channel))
        on = switch_on(purpose, message.channel, choice)
        return ("", choice) if on else (R.SERVICE_OFF, None)


def _sent_lately(member_ids: list[int], channel: str, now: datetime, days: int) -> dict[int, int]:
    """Advertising on `channel` per member: being sent, or sent in the last `days` days."""
    rows = (
        Message.objects.filter(
            member_id__in=member_ids, channel=channel, purpose=Message.Purpose.MARKETING
        )
        .filter(
            Q(status=Message.Status.SENDING)
            | Q(
                status__in=[Message.Status.SENT, Message.Status.DELIVERED],
                sent_at__gt=now - timedelta(days=days),
            )
        )
        .values("member_id")
        .annotate(n=Count("id"))
    )
    return {row["member_id"]: row["n"] for row in rows}


def _outgoing(message: Message, address: str) -> Outgoing:
    marketing = message.purpose == Message.Purpose.MARKETING
    link = (
        unsubscribe_url(message.member_id, message.channel)
        if marketing and message.member_id
        else ""
    )
    text = message.text
    if link and message.channel == Message.Channel.SMS:
        text = sms_unsubscribe_added(text, link, message.language)
    return Outgoing(
        message_id=message.pk,
        to=address,
        text=text,
        subject=message.subject,
        purpose=message.purpose,
        trigger=message.trigger,
        member_id=message.member_id,
        language=message.language,
        unsubscribe_url=link,
    )


def _due(now: datetime) -> Q:
    return Q(status=Message.Status.QUEUED, due_at__lte=now) | Q(
        status=Message.Status.SENDING, lease_until__lte=now
    )


@transaction.atomic
def _claim_batch(limit: int, report: SendReport) -> list[_Claimed]:
    """Decide up to `limit` due messages and claim those that may go, in one transaction.

    The due rows are locked (`SKIP LOCKED`: another worker takes others; no one else changes
    them until this commits), then their members in id order: a member's messages held by
    another worker wait here for its commit, so its `sending` rows count against the cap.
    """
    now = clock.now()
    messages = list(
        Message.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(_due(now))
        .order_by("due_at", "id")[:limit]
    )
    if not messages:
        return []
    member_ids = sorted({m.member_id for m in messages if m.member_id is not None})
    members = {
        m.pk: m
        for m in Member.objects.select_for_update(of=("self",))
        .select_related("enrolled_store")
        .filter(pk__in=member_ids)
        .order_by("pk")
    }
    consents = Consents.of(member_ids)
    chats = dict(
        TelegramLink.objects.filter(member_id__in=member_ids).values_list("member_id", "chat_id")
    )
    caps = {
        channel: (cap, _sent_lately(member_ids, channel, now, cap[1]))
        for channel, cap in settings.KOPILKA_FREQUENCY_CAPS.items()
    }
    quiet = quiet_hours_parse(settings.KOPILKA_QUIET_HOURS)
    suppressed: dict[str, list[int]] = {}
    deferred: dict[datetime, list[int]] = {}
    claimed: list[_Claimed] = []
    for message in messages:
        resumed = message.status == Message.Status.SENDING  # its lease ran out
        if message.trigger in TO_ADDRESS or message.member_id is None:
            claimed.append(_claim(message, message.address, None, now, resumed))
            continue  # asked for just now, to the address given: no consent, no quiet hours
        member_id = message.member_id
        member = members[member_id]
        address = _address(member, message.channel, chats)
        reason, consent = _consents_reason(member, address, consents, message)
        if reason:
            suppressed.setdefault(reason, []).append(message.pk)
            continue
        if not resumed and message.trigger not in EXEMPT_FROM_QUIET_HOURS:
            until = quiet_until(now, quiet, _zone(member))
            if until is not None:
                deferred.setdefault(until, []).append(message.pk)
                continue
        if not resumed and message.purpose == Message.Purpose.MARKETING:
            cap, counts = caps.get(message.channel, (None, {}))
            if cap_reached(counts.get(member_id, 0), cap):
                suppressed.setdefault(R.FREQUENCY_CAP, []).append(message.pk)
                continue
            counts[member_id] = counts.get(member_id, 0) + 1
        claimed.append(_claim(message, address, consent, now, resumed))
    for reason, ids in suppressed.items():
        Message.objects.filter(pk__in=ids).update(
            status=Message.Status.SUPPRESSED, reason=reason, lease_until=None
        )
        report.suppressed[reason] = report.suppressed.get(reason, 0) + len(ids)
    for until, ids in deferred.items():
        Message.objects.filter(pk__in=ids).update(due_at=until, reason=R.QUIET_HOURS_DEFERRED)
        report.deferred += len(ids)
    update_rows([c.message for c in claimed], CLAIMED_FIELDS)
    return claimed


def _claim(
    message: Message, address: str, consent: Consent | None, now: datetime, resumed: bool
) -> _Claimed:
    message.status = Message.Status.SENDING
    message.lease_until = now + LEASE
    message.attempts += 1
    message.address = address
    message.consent = consent
    message.consent_text_version = consent.text_version if consent else ""
    message.reason = ""
    return _Claimed(message, _outgoing(message, address), resumed)


def _consents_reason(
    member: Member, address: str, consents: Consents, message: Message
) -> tuple[str, Consent | None]:
    if member.status != Member.Status.ACTIVE or not address:
        return R.NO_ADDRESS, None
    return consents.check(message)


def _finish(done: list[tuple[_Claimed, Sent]], report: SendReport) -> None:
    at = clock.now()
    for claimed, sent in done:
        message = claimed.message
        message.status = Message.Status.SENT
        message.sent_at = at
        message.lease_until = None
        message.provider = sent.provider
        message.provider_message_id = sent.provider_message_id
        message.parts = sent.parts
    update_rows(
        [claimed.message for claimed, _ in done],
        ["status", "sent_at", "lease_until", "provider", "provider_message_id", "parts"],
    )
    report.sent += len(done)


def _failed(claimed: _Claimed, failure: SendFailed, report: SendReport) -> None:
    message = claimed.message
    final = failure.permanent or message.attempts >= MAX_ATTEMPTS
    Message.objects.filter(
        pk=message.pk, status=Message.Status.SENDING, attempts=message.attempts
    ).update(
        status=Message.Status.FAILED if final else Message.Status.QUEUED,
        due_at=clock.now() + backoff(message.attempts),
        lease_until=None,
        reason=failure.reason,
    )
    if final:
        report.failed += 1
    else:
        report.retried += 1


def messages_send_due(*, limit: int = 200) -> SendReport:
    """Send up to `limit` due messages: decided and claimed together, then sent per channel."""
    report = SendReport()
    claimed = _claim_batch(limit, report)
    by_channel: dict[str, list[_Claimed]] = {}
    for item in claimed:
        by_channel.setdefault(item.message.channel, []).append(item)
    done: list[tuple[_Claimed, Sent]] = []
    for channel_name, items in by_channel.items():
        channel = channel_for(channel_name)
        fresh: list[_Claimed] = []
        for item in items:
            earlier = channel.already_sent(item.outgoing) if item.resumed else None
            if earlier is not None:
                done.append((item, earlier))
            else:
                fresh.append(item)
        results = channel.send_many([item.outgoing for item in fresh])
        for item, result in zip(fresh, results, strict=True):
            if isinstance(result, SendFailed):
                log.warning("message %s not sent: %s", item.message.pk, result.reason)
                _failed(item, result, report)
            else:
                done.append((item, result))
    if done:
        _finish(done, report)
    return report
