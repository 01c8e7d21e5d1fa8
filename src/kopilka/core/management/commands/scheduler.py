import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kopilka.core.scheduler import run_due, seconds_to_next

WAKE_S = 60.0  # looks again at least this often (a failed run's retry, a moved clock)


class Command(BaseCommand):
    help = (
        "Запускает ночные задачи (сгорание баллов, бонусы, пересмотр уровней) в их время, каждую "
        "один раз за день. / Runs the nightly jobs at their times (settings.KOPILKA_SCHEDULE), "
        "each once per day, until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due now, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            for run in run_due():
                line = {"job": run.job, "day": run.day.isoformat(), "result": run.result}
                if run.error:
                    line["error"] = run.error.strip().splitlines()[-1]
                self.stdout.write(json.dumps(line, ensure_ascii=False))
                self.stdout.flush()
            if options["once"] or stop.wait(min(seconds_to_next(), WAKE_S)):
                return
