"""revoke_terminal --key KEY: stop a terminal's key working at once, in every process."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.pos.terminals import terminal_for_key, terminal_revoke


class Command(BaseCommand):
    help = "Revoke the terminal an API key belongs to (the owner has the key at hand)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", required=True, help="the terminal's full API key, kp_...")

    def handle(self, *args: Any, key: str, **options: Any) -> None:
        try:
            terminal = terminal_for_key(key.strip())
            if terminal.revoked_at is not None:
                raise CommandError(
                    f"Terminal {terminal} was already revoked at {terminal.revoked_at}."
                )
            terminal_revoke(terminal_id=terminal.pk, actor=Actor.system("revoke_terminal"))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked terminal {terminal} (id {terminal.pk}).")
