"""The one clock: every service asks it for the time, so tests can move it."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Tests only: make now() return `moment` inside the block."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


def business_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def business_date(moment: datetime) -> date:
    return moment.astimezone(business_tz()).date()


def start_of_business_day(day: date) -> datetime:
    """Midnight of `day` in the business time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=business_tz())


def days_later_midnight(moment: datetime, days: int) -> datetime:
    """Start of the business day `days` days after the day of `moment`."""
    return start_of_business_day(business_date(moment) + timedelta(days=days))
