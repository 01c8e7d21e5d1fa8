from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kopilka.ledger.checks import ledger_problems


class Command(BaseCommand):
    help = "Prove that cached balances, postings and point lots agree; exit 1 naming each account that does not."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger_check: {len(problems)} problem(s)")
        self.stdout.write("ledger_check: OK")
