import json
import os
import secrets
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kopilka.demo.generate import admin_ensure, demo_load, demo_reset
from kopilka.members.models import Member
from kopilka.pos.models import Purchase


class Command(BaseCommand):
    help = (
        "Load demo data: two cafés, members and months of purchases and points. Prints a JSON "
        "summary, the admin login and a terminal API key, alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=2000)
        parser.add_argument("--purchases", type=int, default=50000)
        parser.add_argument("--months", type=int, default=18)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete existing members, purchases, points, terminals and stores first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if min(options["members"], options["purchases"], options["months"]) < 1:
            raise CommandError("--members, --purchases and --months must be at least 1")
        started = time.monotonic()
        password = os.environ.get("KOPILKA_DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        # One transaction: a failed load leaves the database as it was, reset included.
        with transaction.atomic():
            if options["reset"]:
                demo_reset()
            elif Member.objects.exists() or Purchase.objects.exists():
                raise CommandError(
                    "The database already has members or purchases; "
                    "run load_demo --reset to replace them with demo data."
                )
            admin_ensure(password)
            result = demo_load(
                members=options["members"],
                purchases=options["purchases"],
                months=options["months"],
                seed=options["seed"],
            )
        summary = {**result.summary, "seconds": round(time.monotonic() - started, 1)}
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
        terminal = f"Terminal '{result.terminal_name}' in store central"
        self.stdout.write(f"{terminal}: its API key, shown once, is on the last line.")
        self.stdout.write(f"admin login: admin / {password}")
        self.stdout.write(result.key)
