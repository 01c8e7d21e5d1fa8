import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.commands import option_date
from kopilka.members.jobs import daily


class Command(BaseCommand):
    help = (
        "Ежедневные задачи за день (по умолчанию вчерашний): сгорание баллов, бонусы ко дню "
        "рождения, за заполненный профиль и за приглашённых друзей, пересмотр уровней, "
        "сообщения (баллы сгорают, начислены, уровень, награда, купон, день рождения, "
        "ежемесячная сводка). Повторный запуск за тот же день ничего не меняет. / The daily "
        "jobs for a day (default yesterday): expiry, birthday, profile and referral bonuses, "
        "the tier review, the messages of the day's events. Running a day twice changes "
        "nothing more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD, the business day to run for")

    def handle(self, *args: Any, **options: Any) -> None:
        day = option_date(options["date"], "--date") or (
            clock.business_date(clock.now()) - timedelta(days=1)
        )
        self.stdout.write(json.dumps(daily(day=day, actor=Actor.system("daily_jobs"))))
