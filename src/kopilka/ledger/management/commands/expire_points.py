import json
from typing import Any

from django.core.management.base import BaseCommand

from kopilka.core.audit import Actor
from kopilka.ledger.services import points_expire_due


class Command(BaseCommand):
    help = "Expire points whose validity has ended (run daily, e.g. from cron at 00:05)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(points_expire_due(actor=Actor.system("expire_points"))))
