import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.campaigns.services import campaign_create
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.members.models import Member

MEASURE_DAYS = 30


def _audience(spec: str) -> list[int]:
    """Member ids of `all`, `rfm:SEGMENT` (the latest analytics snapshot) or `campaign:KEY`
    (that campaign's target group)."""
    kind, _, value = spec.partition(":")
    if spec == "all":
        return list(Member.objects.filter(status=Member.Status.ACTIVE).values_list("id", flat=True))
    if kind == "rfm" and value:
        from kopilka.analytics.labels import SEGMENTS
        from kopilka.analytics.selectors import segment_member_ids, snapshot_latest

        if value not in SEGMENTS:
            raise CommandError(f"unknown RFM segment {value!r}; one of: {', '.join(SEGMENTS)}")
        snapshot = snapshot_latest()
        if snapshot is None:
            raise CommandError("no analytics snapshot yet: run manage.py analytics_refresh first")
        return sorted(segment_member_ids(snapshot, value))
    if kind == "campaign" and value:
        source = Campaign.objects.filter(key=value).first()
        if source is None:
            raise CommandError(f"no campaign with the key {value!r}")
        return list(
            CampaignMember.objects.filter(campaign=source, in_control=False).values_list(
                "member_id", flat=True
            )
        )
    raise CommandError(f"--audience must be all, rfm:SEGMENT or campaign:KEY; got {spec!r}")


class Command(BaseCommand):
    help = (
        "Создаёт кампанию с постоянной контрольной группой (если её ещё нет) и ставит её "
        "сообщения в очередь; повторный запуск с тем же ключом и каналом ничего не добавляет. / "
        "Creates the campaign with its persistent control group unless it exists, and queues its "
        "messages; run again with the same key and channel, it queues nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", required=True, help="the campaign's key (seeds its control)")
        parser.add_argument("--audience", required=True, help="all | rfm:SEGMENT | campaign:KEY")
        parser.add_argument("--channel", required=True, choices=["sms", "email", "telegram"])
        text = parser.add_mutually_exclusive_group(required=True)
        text.add_argument("--template", help="a message template's name")
        text.add_argument("--text", help="the text; {name} {balance} {expiring_points} …")
        parser.add_argument("--subject", default="", help="email subject (the template's if any)")
        parser.add_argument("--name", help="the campaign's name (default: its key)")
        parser.add_argument("--control-share", default="0.1", help="0 up to 1, default 0.1")
        parser.add_argument("--language", default="ru", choices=["ru", "en"])

    def handle(self, *args: Any, **options: Any) -> None:
        from kopilka.messaging.campaigns import campaign_queue
        from kopilka.messaging.selectors import template_get
        from kopilka.messaging.texts import sms_template_check, template_check

        actor = Actor.system("campaign_send")
        text, subject = options["text"], options["subject"]
        if options["template"]:
            template = template_get(options["template"], options["channel"], options["language"])
            if template is None:
                raise CommandError(
                    f"no template {options['template']!r} for {options['channel']} "
                    f"in {options['language']}"
                )
            text, subject = template.text, subject or template.subject
        try:
            template_check(text)
            template_check(subject)
            if options["channel"] == "sms":
                sms_template_check(text, advertising=True)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        try:
            share = Decimal(options["control_share"])
        except InvalidOperation:
            raise CommandError("--control-share must be a number such as 0.1") from None
        campaign = Campaign.objects.filter(key=options["key"]).first()
        created = campaign is None
        try:
            if campaign is None:
                today = clock.business_date(clock.now())
                campaign = campaign_create(
                    key=options["key"],
                    name=options["name"] or options["key"],
                    control_share=share,
                    starts_on=today,
                    ends_on=today + timedelta(days=MEASURE_DAYS),
                    member_ids=_audience(options["audience"]),
                    actor=actor,
                )
            queued = campaign_queue(
                campaign=campaign,
                channel=options["channel"],
                text=text,
                subject=subject,
                language=options["language"],
                actor=actor,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            json.dumps(
                {
                    "campaign": campaign.key,
                    "created": created,
                    "channel": options["channel"],
                    "queued": queued.queued,
                    "control_group": queued.control_group,
                    "already_queued": queued.already,
                },
                ensure_ascii=False,
            )
        )
