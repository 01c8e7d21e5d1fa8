import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from kopilka.messaging.services import messages_send_due

IDLE_S = 2.0  # with nothing due, looks again this often


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a worker: the web server runs the checks
    help = (
        "Отправляет сообщения, срок которых наступил: проверяет согласие, тихие часы и лимиты в "
        "момент отправки. / Sends the messages that are due, checking consent, quiet hours and "
        "caps at send time, until stopped (--once: everything due now, then exit)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="send everything due, then exit")
        parser.add_argument("--batch", type=int, default=200, help="messages per round")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while not stop.is_set():
            report = messages_send_due(limit=options["batch"])
            if report.handled:
                line = {
                    "sent": report.sent,
                    "suppressed": report.suppressed,
                    "deferred": report.deferred,
                    "retried": report.retried,
                    "failed": report.failed,
                }
                self.stdout.write(json.dumps(line, ensure_ascii=False))
                self.stdout.flush()
            if options["once"] and report.handled < options["batch"]:
                return
            if not report.handled:
                connection.close()  # idle: no connection held while waiting
                stop.wait(IDLE_S)
