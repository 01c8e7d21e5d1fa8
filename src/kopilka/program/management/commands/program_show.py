"""program_show [--at ISO]: the program in force as its JSON document (what program_apply reads)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kopilka.program.engine.document import program_to_document
from kopilka.program.management.commands._moment import moment_from_text
from kopilka.program.selectors import program_in_force


class Command(BaseCommand):
    help = "Print the program in force (now, or --at a time) as its JSON document."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            help="ISO 8601 time (default now; without an offset: the business time zone)",
        )

    def handle(self, *args: Any, at: str | None, **options: Any) -> None:
        moment = moment_from_text(at, "--at") if at else None
        document = program_to_document(program_in_force(moment))
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
