import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kopilka.analytics.models import Snapshot
from kopilka.analytics.services import snapshot_run
from kopilka.core.audit import Actor


class Command(BaseCommand):
    help = "Compute the analytics snapshot now (the dashboard also asks the worker for one)."

    def handle(self, *args: Any, **options: Any) -> None:
        snapshot = snapshot_run(actor=Actor.system("analytics_refresh"))
        if snapshot.status != Snapshot.Status.READY:
            raise CommandError(f"snapshot {snapshot.pk} failed:\n{snapshot.error}")
        self.stdout.write(json.dumps({"snapshot": snapshot.pk} | snapshot.summary["seconds"]))
