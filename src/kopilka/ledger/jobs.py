"""The ledger's scheduled job (settings.KOPILKA_SCHEDULE, `manage.py scheduler`)."""

from datetime import date

from kopilka.core.audit import Actor
from kopilka.ledger.services import points_expire_due


def expire(*, day: date, actor: Actor) -> dict[str, int]:
    """Expire every lot whose time has come (`day` is when it runs; the lots say what is due)."""
    return points_expire_due(actor=actor)
