"""The daily job: points expired, event bonuses, the tier review and the messages the day's
events cause, for the day before (in that order: a warning counts what is left after expiry, a
tier message follows the review)."""

from datetime import date, timedelta
from typing import Any

from kopilka.core.audit import Actor
from kopilka.ledger.services import points_expire_due
from kopilka.members.bonuses import bonus_jobs
from kopilka.members.tiers import tier_review
from kopilka.messaging.triggers import trigger_messages


def daily(*, day: date, actor: Actor) -> dict[str, Any]:
    """The daily jobs for `day` (idempotent: running a day twice changes nothing more)."""
    expired = points_expire_due(actor=actor)
    bonuses = bonus_jobs(day=day, actor=actor)
    review = tier_review(day=day, actor=actor)
    messages = trigger_messages(day=day)
    return {
        "day": day.isoformat(),
        "expired": expired,
        "bonuses": bonuses.as_dict(),
        "tiers": review.as_dict(),
        "messages": messages.as_dict(),
    }


def daily_for_yesterday(*, day: date, actor: Actor) -> dict[str, Any]:
    """What the scheduler runs on `day` just after midnight: the day that has just ended."""
    return daily(day=day - timedelta(days=1), actor=actor)
