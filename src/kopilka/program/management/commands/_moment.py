"""An ISO 8601 moment typed on the command line: with an offset, or in the business time zone."""

from datetime import datetime

from django.core.management.base import CommandError

from kopilka.core import clock


def moment_from_text(text: str, option: str) -> datetime:
    """ "2026-12-01T09:00+03:00" as given; "2026-12-01T09:00" and "2026-12-01" (midnight) in
    the business time zone (TIME_ZONE)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not an ISO 8601 time, e.g. 2026-12-01T09:00+03:00",
            returncode=2,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.business_tz())
    return moment
