from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.ledger.services import points_adjust


class Command(BaseCommand):
    help = (
        "Add (positive) or remove (negative) points for a member, with a reason, as a staff user."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", type=int, required=True)
        parser.add_argument("--points", type=int, required=True)
        parser.add_argument("--reason", required=True)
        parser.add_argument(
            "--staff", required=True, help="username of the staff member responsible"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["staff"], is_staff=True).first()
        if user is None:
            raise CommandError(f"no staff user {options['staff']!r}")
        try:
            transfer = points_adjust(
                member_id=options["member"],
                points=options["points"],
                reason=options["reason"],
                actor=Actor.staff(user),
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"transfer {transfer.pk}: {transfer.points:+d} points")
