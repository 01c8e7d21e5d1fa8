import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from kopilka.messaging.bot import bot_poll
from kopilka.messaging.telegram import TelegramError

RETRY_S = 5.0  # after the Bot API could not be reached


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a worker: the web server runs the checks
    help = (
        "Телеграм-бот программы: привязывает чат участника по ссылке, отвечает баланс и номер "
        "карты, /stop отключает сообщения. / The program's Telegram bot: links a member's chat "
        "by the deep link, answers the balance and the card, /stop turns messages off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one poll, then exit")
        parser.add_argument("--wait", type=int, default=25, help="long poll seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KOPILKA_TELEGRAM_TOKEN:
            raise CommandError("KOPILKA_TELEGRAM_TOKEN is not set")
        stop = threading.Event()
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        offset = 0
        while not stop.is_set():
            try:
                offset = bot_poll(offset, wait=0 if options["once"] else options["wait"])
            except TelegramError as exc:
                self.stderr.write(str(exc))
                stop.wait(exc.retry_after or RETRY_S)
            connection.close()  # between polls no connection is held
            if options["once"]:
                return
