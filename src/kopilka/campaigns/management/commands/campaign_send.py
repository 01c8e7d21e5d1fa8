import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError


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
        from kopilka.messaging.campaigns import campaign_launch

        try:
            share = Decimal(options["control_share"])
        except InvalidOperation:
            raise CommandError("--control-share must be a number such as 0.1") from None
        try:
            launched = campaign_launch(
                key=options["key"],
                name=options["name"] or "",
                audience=options["audience"],
                channel=options["channel"],
                text=options["text"] or "",
                subject=options["subject"],
                template=options["template"] or "",
                control_share=share,
                language=options["language"],
                actor=Actor.system("campaign_send"),
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        queued = launched.queued
        self.stdout.write(
            json.dumps(
                {
                    "campaign": launched.campaign.key,
                    "created": launched.created,
                    "channel": options["channel"],
                    "queued": queued.queued,
                    "control_group": queued.control_group,
                    "already_queued": queued.already,
                },
                ensure_ascii=False,
            )
        )
