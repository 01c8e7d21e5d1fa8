"""create_staff_token USERNAME [--name NAME]: a personal token for the staff API, as the
profile page makes one; the key is printed once, alone on the last line (for scripts)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.core.audit import Actor
from kopilka.staff.tokens import staff_token_create


class Command(BaseCommand):
    help = (
        "Create a personal staff API token for an existing user; the key is printed once, "
        "alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the staff user the token acts as")
        parser.add_argument("--name", default="script", help="what the token is for")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not (user.is_active and user.is_staff):
            raise CommandError(f"{username} is not an active staff user: the token would not work.")
        new = staff_token_create(user=user, name=name, actor=Actor.system("create_staff_token"))
        self.stdout.write(f"Token {new.token.pk} '{new.token.name}' for {username} created.")
        self.stdout.write("Key (shown once, keep it secret):")
        self.stdout.write(new.key)
