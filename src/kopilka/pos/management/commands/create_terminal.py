from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kopilka.core.audit import Actor
from kopilka.pos.terminals import terminal_create


class Command(BaseCommand):
    help = "Create a POS terminal (and its store if missing); the API key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", required=True, help="store code, e.g. central")
        parser.add_argument("--store-name", help="store name, used when the store is created")
        parser.add_argument("--name", help="terminal name, e.g. 'Till 1'")

    def handle(self, *args: Any, **options: Any) -> None:
        terminal, key = terminal_create(
            store_code=options["store"],
            store_name=options["store_name"],
            name=options["name"],
            actor=Actor.system("create_terminal"),
        )
        self.stdout.write(
            f"Terminal {terminal.pk} '{terminal.name}' in store {terminal.store.code} created."
        )
        self.stdout.write("API key (shown once, keep it secret):")
        self.stdout.write(key)
