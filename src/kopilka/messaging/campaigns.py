"""A campaign's messages, queued for its whole audience at once.

Every member of the campaign's audience gets a row: the target group's are queued, the control
group's are written already suppressed (`control_group`), so the campaign's list says who was
held out and the sender never sees them. The text's variables are filled per member from one
read of the audience with their points (`{name}`, `{balance}`, `{expiring_points}`,
`{expiring_date}`: the last day the first expiring points can be spent). The rows go in by COPY; a row whose deduplication key (campaign, member,
channel) exists is skipped, so sending a campaign again on a channel queues nothing new.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import formats, translation

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.sql import copy_rows, db_datetime
from kopilka.ledger.models import PointLot
from kopilka.members.models import Member
from kopilka.messaging.models import Message
from kopilka.messaging.texts import template_check

COLUMNS = (
    "member_id", "campaign_id", "channel", "purpose", "trigger", "dedup_key", "language",
    "subject", "text", "status", "reason", "created_at", "due_at", "attempts", "address",
    "parts", "provider", "provider_message_id", "consent_text_version",
)  # fmt: skip


@dataclass(frozen=True)
class Queued:
    queued: int
    control_group: int
    already: int  # rows skipped: queued before for this campaign and channel


def _audience_sql() -> str:
    """The next chunk of a campaign's audience by member id, each with their points: the chunk
    is taken first (by the audience's unique index, in order), then each member's open lots
    (by the FIFO index), so a chunk costs the same wherever it is in the audience."""
    member, lot = Member._meta.db_table, PointLot._meta.db_table
    audience = CampaignMember._meta.db_table
    return (
        "SELECT a.member_id, a.in_control, m.name, "
        f"COALESCE((SELECT SUM(l.remaining) FROM {lot} l WHERE l.member_id = a.member_id "
        "AND l.remaining > 0 AND l.expires_at > %s AND l.available_at <= %s), 0), "
        f"COALESCE((SELECT SUM(l.remaining) FROM {lot} l WHERE l.member_id = a.member_id "
        "AND l.remaining > 0 AND l.expires_at > %s AND l.expires_at <= %s "
        "AND l.available_at <= %s), 0), "
        f"(SELECT MIN(l.expires_at) FROM {lot} l WHERE l.member_id = a.member_id "
        "AND l.remaining > 0 AND l.expires_at > %s AND l.expires_at <= %s "
        "AND l.available_at <= %s) "
        f"FROM (SELECT member_id, in_control FROM {audience} WHERE campaign_id = %s "
        "AND member_id > %s ORDER BY member_id LIMIT %s) a "
        f"JOIN {member} m ON m.id = a.member_id ORDER BY a.member_id"
    )


CHUNK = 50_000


def _audience(campaign: Campaign, now: datetime, after: int) -> list[tuple[object, ...]]:
    """The next CHUNK of the audience after member id `after`, with their points. Read whole
    before its rows are written: one connection cannot read while it COPYs."""
    horizon = now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    at, until = db_datetime(now), db_datetime(horizon)
    with connection.cursor() as cursor:
        window = [at, until, at]
        cursor.execute(_audience_sql(), [at, at, *window, *window, campaign.pk, after, CHUNK])
        return cursor.fetchall()


def campaign_queue(
    *, campaign: Campaign, channel: str, text: str, subject: str, language: str, actor: Actor
) -> Queued:
    template_check(text)
    template_check(subject)
    now = clock.now()
    zone = clock.business_tz()
    dates: dict[object, str] = {}

    def day(expiry: object) -> str:
        if expiry is None:
            return ""
        if expiry not in dates:
            moment = expiry if isinstance(expiry, datetime) else datetime.fromisoformat(str(expiry))
            if moment.tzinfo is None:  # SQLite's MIN() gives the stored UTC text
                moment = moment.replace(tzinfo=UTC)
            # points are valid through the day before the midnight they expire at
            last_day = (moment.astimezone(zone) - timedelta(microseconds=1)).date()
            with translation.override(language):
                dates[expiry] = formats.date_format(last_day, "SHORT_DATE_FORMAT")
        return dates[expiry]

    counts = {"target": 0, "control": 0}

    def rows(chunk: list[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
        for member_id, in_control, name, available, expiring, first_expiry in chunk:
            values = {
                "name": name,
                "balance": available,
                "expiring_points": expiring,
                "expiring_date": day(first_expiry),
            }
            held_out = bool(in_control)
            counts["control" if held_out else "target"] += 1
            yield (
                member_id, campaign.pk, channel, Message.Purpose.MARKETING, "campaign",
                f"campaign:{member_id}:{channel}:{campaign.key}", language,
                subject.format_map(values), text.format_map(values),
                Message.Status.SUPPRESSED if held_out else Message.Status.QUEUED,
                Message.Reason.CONTROL_GROUP if held_out else "", now, now, 0, "", 0, "", "", "",
            )  # fmt: skip

    control = Message.objects.filter(
        campaign=campaign, channel=channel, reason=Message.Reason.CONTROL_GROUP
    )
    control_before = control.count()
    inserted, after = 0, 0
    while chunk := _audience(campaign, now, after):
        inserted += copy_rows(Message, COLUMNS, rows(chunk))
        after = int(chunk[-1][0])  # type: ignore[call-overload]
    held_out = control.count() - control_before
    result = Queued(
        queued=inserted - held_out,
        control_group=held_out,
        already=counts["target"] + counts["control"] - inserted,
    )
    audit_record(
        actor=actor,
        action="messaging.campaign_queue",
        target_type="campaigns.campaign",
        target_id=campaign.pk,
        data={"channel": channel, "queued": result.queued, "already": result.already},
    )
    return result
