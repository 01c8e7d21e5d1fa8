"""A campaign's messages, queued for its whole audience at once.

Every member of the campaign's audience gets a row: the target group's are queued, the control
group's are written already suppressed (`control_group`), so the campaign's list says who was
held out and the sender never sees them. The text's variables are filled per member from the
audience read with their points (`{name}`, `{balance}`, `{expiring_points}`,
`{expiring_date}`: the last day the first expiring points can be spent). The rows go in by COPY,
a chunk of the audience at a time (each its own transaction: a run stopped half-way is finished
by the next); a row whose deduplication key (campaign, member, channel) exists is skipped, so
sending a campaign again on a channel queues nothing new.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.sql import copy_rows, db_datetime
from kopilka.ledger.models import PointLot
from kopilka.members.models import Member
from kopilka.messaging.models import Message
from kopilka.messaging.texts import template_check, valid_through

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
    is taken first (by the audience's unique index, in order), then the chunk's open lots (by
    the FIFO index), summed once per member, so a chunk costs the same wherever it is."""
    member, lot = Member._meta.db_table, PointLot._meta.db_table
    audience = CampaignMember._meta.db_table
    usable = "l.available_at <= %s"
    expiring = f"{usable} AND l.expires_at <= %s"
    return (
        f"WITH a AS (SELECT member_id, in_control FROM {audience} WHERE campaign_id = %s "
        "AND member_id > %s ORDER BY member_id LIMIT %s) "
        "SELECT a.member_id, a.in_control, m.name, COALESCE(p.available, 0), "
        "COALESCE(p.expiring, 0), p.first_expiry "
        f"FROM a JOIN {member} m ON m.id = a.member_id LEFT JOIN ("
        f"SELECT l.member_id, SUM(CASE WHEN {usable} THEN l.remaining ELSE 0 END) AS available, "
        f"SUM(CASE WHEN {expiring} THEN l.remaining ELSE 0 END) AS expiring, "
        f"MIN(CASE WHEN {expiring} THEN l.expires_at END) AS first_expiry "
        f"FROM {lot} l WHERE l.member_id IN (SELECT member_id FROM a) "
        "AND l.remaining > 0 AND l.expires_at > %s GROUP BY l.member_id"
        ") p ON p.member_id = a.member_id ORDER BY a.member_id"
    )


CHUNK = 50_000


def _audience(campaign: Campaign, now: datetime, after: int) -> list[tuple[object, ...]]:
    """The next CHUNK of the audience after member id `after`, with their points. Read whole
    before its rows are written: one connection cannot read while it COPYs."""
    horizon = now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    at, until = db_datetime(now), db_datetime(horizon)
    with connection.cursor() as cursor:
        cursor.execute(_audience_sql(), [campaign.pk, after, CHUNK, at, at, until, at, until, at])
        return cursor.fetchall()


def campaign_queue(
    *, campaign: Campaign, channel: str, text: str, subject: str, language: str, actor: Actor
) -> Queued:
    template_check(text)
    template_check(subject)
    now = clock.now()
    dates: dict[object, str] = {}

    def day(expiry: object) -> str:
        if expiry is None:
            return ""
        if expiry not in dates:
            moment = expiry if isinstance(expiry, datetime) else datetime.fromisoformat(str(expiry))
            if moment.tzinfo is None:  # SQLite's MIN() gives the stored UTC text
                moment = moment.replace(tzinfo=UTC)
            dates[expiry] = valid_through(moment, language)
        return dates[expiry]

    def rows(chunk: list[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
        for member_id, in_control, name, available, expiring, first_expiry in chunk:
            values = {
                "name": name,
                "balance": available,
                "expiring_points": expiring,
                "expiring_date": day(first_expiry),
            }
            held_out = bool(in_control)
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
    inserted, audience, after = 0, 0, 0
    while chunk := _audience(campaign, now, after):
        inserted += copy_rows(Message, COLUMNS, rows(chunk))
        audience += len(chunk)
        after = int(chunk[-1][0])  # type: ignore[call-overload]
    held_out = control.count() - control_before
    result = Queued(
        queued=inserted - held_out,
        control_group=held_out,
        already=audience - inserted,
    )
    audit_record(
        actor=actor,
        action="messaging.campaign_queue",
        target_type="campaigns.campaign",
        target_id=campaign.pk,
        data={"channel": channel, "queued": result.queued, "already": result.already},
    )
    return result
