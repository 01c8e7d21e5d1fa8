"""The members' daily job: event bonuses and the tier review for the day before."""

from datetime import date, timedelta
from typing import Any

from kopilka.core.audit import Actor
from kopilka.members.bonuses import bonus_jobs
from kopilka.members.tiers import tier_review


def daily(*, day: date, actor: Actor) -> dict[str, Any]:
    """The daily jobs for `day` (idempotent: running a day twice changes nothing more)."""
    bonuses = bonus_jobs(day=day, actor=actor)
    review = tier_review(day=day, actor=actor)
    return {"day": day.isoformat(), "bonuses": bonuses.as_dict(), "tiers": review.as_dict()}


def daily_for_yesterday(*, day: date, actor: Actor) -> dict[str, Any]:
    """What the scheduler runs on `day` just after midnight: the day that has just ended."""
    return daily(day=day - timedelta(days=1), actor=actor)
