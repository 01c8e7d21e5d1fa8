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
