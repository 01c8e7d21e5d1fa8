"""core.sql.copy_rows: many rows at once (COPY on PostgreSQL), exact values, duplicates skipped."""

from datetime import UTC, datetime

import pytest

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core.sql import copy_rows
from kopilka.members.models import Consent
from tests.conftest import enroll

AT = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.django_db
def test_rows_arrive_exactly_as_given_and_a_second_copy_adds_nothing() -> None:
    member = enroll()
    tricky = "таб\tперевод\nстроки\r и \\обратная косая \\N"
    names = ("member_id", "purpose", "channel", "given", "recorded_at", "source", "text_version")
    rows = [
        (member.pk, "marketing", "sms", True, AT, tricky, "v1"),
        (member.pk, "service", "email", False, AT, "", "v1"),
    ]
    before = Consent.objects.count()
    assert copy_rows(Consent, names, rows) == 2
    copied = Consent.objects.order_by("-id")[:2][::-1]
    assert [(c.purpose, c.channel, c.given, c.recorded_at, c.source) for c in copied] == [
        ("marketing", "sms", True, AT, tricky),
        ("service", "email", False, AT, ""),
    ]
    assert Consent.objects.count() == before + 2
    campaign = Campaign.objects.create(
        key="copy",
        name="copy",
        control_share=0,
        starts_on=AT.date(),
        ends_on=AT.date().replace(day=8),
        created_at=AT,
    )
    audience = [(campaign.pk, member.pk, False)]
    assert copy_rows(CampaignMember, ("campaign_id", "member_id", "in_control"), audience) == 1
    assert copy_rows(CampaignMember, ("campaign_id", "member_id", "in_control"), audience) == 0
    assert copy_rows(CampaignMember, ("campaign_id", "member_id", "in_control"), []) == 0


@pytest.mark.django_db
def test_update_rows_writes_each_objects_own_values_nulls_and_times_included() -> None:
    from kopilka.core.sql import update_rows
    from kopilka.messaging.models import Message

    member = enroll()
    rows = [
        Message.objects.create(
            member=member, channel="sms", purpose="service", trigger="t", dedup_key=f"k{n}",
            text="x", created_at=AT, due_at=AT, lease_until=AT,
        )
        for n in range(3)
    ]  # fmt: skip
    tricky = "кавычки \" и ' и \\ и\nстрока"
    rows[0].status, rows[0].lease_until, rows[0].reason = "sent", None, tricky
    rows[1].status, rows[1].sent_at, rows[1].attempts = "failed", AT, 7
    update_rows(rows[:2], ["status", "lease_until", "reason", "sent_at", "attempts"])
    first, second, third = Message.objects.order_by("pk")
    assert (first.status, first.lease_until, first.reason, first.sent_at) == (
        "sent",
        None,
        tricky,
        None,
    )
    assert (second.status, second.lease_until, second.sent_at, second.attempts) == (
        "failed",
        AT,
        AT,
        7,
    )
    assert (third.status, third.lease_until, third.attempts) == ("queued", AT, 0)  # not given
    update_rows([], ["status"])  # nothing to do
