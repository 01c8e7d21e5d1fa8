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
from decimal import Decimal
from string import Formatter
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import formats, translation
from django.utils.translation import gettext as _

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.campaigns.selectors import audience_member_ids
from kopilka.campaigns.services import campaign_create
from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.core.sql import copy_rows, db_datetime, fields_of
from kopilka.ledger.models import PointLot
from kopilka.members.models import Member
from kopilka.messaging.models import Message
from kopilka.messaging.selectors import template_get
from kopilka.messaging.texts import sms_template_check, template_check, valid_through

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


def _chunk_sql() -> str:
    """The CTE `a`: the next chunk of a campaign's audience by member id (by the audience's
    unique index, in order), and `p`: the chunk's open lots (by the FIFO index) summed once per
    member, so a chunk costs the same wherever it is. Parameters: campaign, after, limit, now,
    now, horizon, now, horizon, now."""
    lot, audience = PointLot._meta.db_table, CampaignMember._meta.db_table
    usable = "l.available_at <= %s"
    expiring = f"{usable} AND l.expires_at <= %s"
    return (
        f"WITH a AS (SELECT member_id, in_control FROM {audience} WHERE campaign_id = %s "
        "AND member_id > %s ORDER BY member_id LIMIT %s), "
        f"p AS (SELECT l.member_id, SUM(CASE WHEN {usable} THEN l.remaining ELSE 0 END) AS "
        f"available, SUM(CASE WHEN {expiring} THEN l.remaining ELSE 0 END) AS expiring, "
        f"MIN(CASE WHEN {expiring} THEN l.expires_at END) AS first_expiry "
        f"FROM {lot} l WHERE l.member_id IN (SELECT member_id FROM a) "
        "AND l.remaining > 0 AND l.expires_at > %s GROUP BY l.member_id) "
    )


def _audience_sql() -> str:
    """The chunk's members with their name and points, for rendering in Python."""
    return (
        f"{_chunk_sql()}SELECT a.member_id, a.in_control, m.name, COALESCE(p.available, 0), "
        f"COALESCE(p.expiring, 0), p.first_expiry FROM a JOIN {Member._meta.db_table} m "
        "ON m.id = a.member_id LEFT JOIN p ON p.member_id = a.member_id ORDER BY a.member_id"
    )


CHUNK = 50_000


def _audience(campaign: Campaign, now: datetime, after: int) -> list[tuple[object, ...]]:
    """The next CHUNK of the audience after member id `after`, with their points. Read whole
    before its rows are written: one connection cannot read while it COPYs."""
    with connection.cursor() as cursor:
        cursor.execute(_audience_sql(), _chunk_params(campaign, now, after))
        return cursor.fetchall()


def _chunk_params(campaign: Campaign, now: datetime, after: int) -> list[Any]:
    horizon = now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    at, until = db_datetime(now), db_datetime(horizon)
    return [campaign.pk, after, CHUNK, at, at, until, at, until, at]


# Django's date format letters PostgreSQL's to_char can write (others: rendered in Python).
TO_CHAR = {"d": "DD", "j": "FMDD", "m": "MM", "n": "FMMM", "Y": "YYYY", "y": "YY"}
SQL_VARIABLES = {
    "name": "COALESCE(m.name, '')",
    "balance": "COALESCE(p.available, 0)::text",
    "expiring_points": "COALESCE(p.expiring, 0)::text",
    # the last day the first expiring points can be spent, as texts.valid_through writes it
    "expiring_date": "COALESCE(to_char(((p.first_expiry AT TIME ZONE %s) "
    "- interval '1 microsecond')::date, %s), '')",
}


def _date_pattern(language: str) -> str | None:
    with translation.override(language):
        django_format = str(formats.get_format("SHORT_DATE_FORMAT"))
    pattern = ""
    for char in django_format:
        if char.isalpha():
            if char not in TO_CHAR:
                return None
            pattern += TO_CHAR[char]
        else:
            pattern += char
    return pattern


def _text_sql(template: str, language: str) -> tuple[str, list[Any]] | None:
    """A template as one SQL expression of the chunk's columns and its literal parts (as
    parameters), or None when it needs Python (a format spec, a date format to_char lacks)."""
    pieces: list[str] = []
    params: list[Any] = []
    pattern = _date_pattern(language)
    for literal, name, spec, conversion in Formatter().parse(template):
        if literal:
            pieces.append("%s::text")
            params.append(literal)
        if name is None:
            continue
        if spec or conversion or name not in SQL_VARIABLES or pattern is None:
            return None
        pieces.append(SQL_VARIABLES[name])
        if name == "expiring_date":
            params += [settings.TIME_ZONE, pattern]
    return (" || ".join(pieces) or "''"), params


def _queue_in_sql(
    campaign: Campaign, channel: str, text: str, subject: str, language: str, now: datetime
) -> tuple[int, int, int] | None:
    """PostgreSQL: every chunk rendered and inserted by one statement (nothing per member
    crosses the wire). (audience, inserted, inserted held out), or None to render in Python."""
    body, subject_sql = _text_sql(text, language), _text_sql(subject, language)
    if connection.vendor != "postgresql" or body is None or subject_sql is None:
        return None
    columns = ", ".join(
        connection.ops.quote_name(str(f.column)) for f in fields_of(Message, COLUMNS)
    )
    at = db_datetime(now)
    values = (
        "a.member_id, %s, %s, 'marketing', 'campaign', "
        "'campaign:' || a.member_id || ':' || %s || ':' || %s, %s, "
        f"{subject_sql[0]}, {body[0]}, "
        "CASE WHEN a.in_control THEN 'suppressed' ELSE 'queued' END, "
        "CASE WHEN a.in_control THEN 'control_group' ELSE '' END, "
        "%s, %s, 0, '', 0, '', '', ''"
    )
    value_params: list[Any] = [campaign.pk, channel, channel, campaign.key, language]
    value_params += [*subject_sql[1], *body[1], at, at]
    sql = (
        f"{_chunk_sql()}, ins AS (INSERT INTO {Message._meta.db_table} ({columns}) "
        f"SELECT {values} FROM a JOIN {Member._meta.db_table} m ON m.id = a.member_id "
        "LEFT JOIN p ON p.member_id = a.member_id ORDER BY a.member_id "
        "ON CONFLICT DO NOTHING RETURNING status) "
        "SELECT (SELECT count(*) FROM a), (SELECT max(member_id) FROM a), "
        "(SELECT count(*) FROM ins), (SELECT count(*) FROM ins WHERE status = 'suppressed')"
    )
    audience = inserted = held_out = after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, _chunk_params(campaign, now, after) + value_params)
            chunk, last, added, control = cursor.fetchone()
        if not chunk:
            return audience, inserted, held_out
        audience, inserted, held_out = audience + chunk, inserted + added, held_out + control
        after = int(last)


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

    def in_python() -> tuple[int, int, int]:
        control = Message.objects.filter(
            campaign=campaign, channel=channel, reason=Message.Reason.CONTROL_GROUP
        )
        control_before = control.count()
        inserted, audience, after = 0, 0, 0
        while chunk := _audience(campaign, now, after):
            inserted += copy_rows(Message, COLUMNS, rows(chunk))
            audience += len(chunk)
            after = int(chunk[-1][0])  # type: ignore[call-overload]
        return audience, inserted, control.count() - control_before

    audience_size = CampaignMember.objects.filter(campaign=campaign).count()
    if Message.objects.filter(campaign=campaign, channel=channel).count() >= audience_size:
        audience, inserted, held_out = audience_size, 0, 0  # queued before for all of them
    else:
        in_sql = _queue_in_sql(campaign, channel, text, subject, language, now)
        audience, inserted, held_out = in_sql if in_sql is not None else in_python()
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


@dataclass(frozen=True)
class Launched:
    campaign: Campaign
    created: bool  # False: the key was a campaign already, its audience and control kept
    queued: Queued


MEASURE_DAYS = 30  # a new campaign's effect is measured over this many days


def campaign_launch(
    *,
    key: str,
    name: str,
    audience: str,
    channel: str,
    text: str,
    subject: str,
    template: str,
    control_share: Decimal,
    language: str,
    actor: Actor,
) -> Launched:
    """Create the campaign with its persistent control group unless the key exists, then queue
    its messages on the channel (again: nothing new). The text is `text`, or the named
    template's; checked before anything is written."""
    if template:
        found = template_get(template, channel, language)
        if found is None:
            raise TemplateMissing(
                _("There is no template “%(name)s” for %(channel)s in %(language)s.")
                % {"name": template, "channel": channel, "language": language},
                fields={"template": _("No such template for this channel and language.")},
            )
        text, subject = found.text, subject or found.subject
    template_check(text)
    template_check(subject)
    if channel == "sms":
        sms_template_check(text, advertising=True)
    campaign = Campaign.objects.filter(key=key).first()
    created = campaign is None
    if campaign is None:
        today = clock.business_date(clock.now())
        campaign = campaign_create(
            key=key,
            name=name or key,
            control_share=control_share,
            starts_on=today,
            ends_on=today + timedelta(days=MEASURE_DAYS),
            member_ids=audience_member_ids(audience),
            actor=actor,
        )
    queued = campaign_queue(
        campaign=campaign,
        channel=channel,
        text=text,
        subject=subject,
        language=language,
        actor=actor,
    )
    return Launched(campaign, created, queued)


class TemplateMissing(DomainError):
    code = "template_missing"
