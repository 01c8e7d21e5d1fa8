"""The rules that protect a member, as pure functions of the time and what was sent before.

Quiet hours are a window of the member's local day (`"21:00-09:00"`, crossing midnight or not;
the end is exclusive); a message due inside it waits for its end. A frequency cap allows N
advertising messages per member and channel in any D days.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured

QuietHours = tuple[time, time] | None


def quiet_hours_parse(text: str) -> QuietHours:
    if not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"KOPILKA_QUIET_HOURS must look like 21:00-09:00 (or be empty); got {text!r}"
        ) from exc
    return (start, end) if start != end else None


def quiet_until(moment: datetime, window: QuietHours, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around `moment` end (aware, UTC-comparable), None outside them."""
    if window is None:
        return None
    start, end = window
    local = moment.astimezone(zone)
    now = local.time()
    inside = start <= now < end if start < end else now >= start or now < end
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def cap_reached(sent_in_window: int, cap: tuple[int, int] | None) -> bool:
    return cap is not None and sent_in_window >= cap[0]


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 30 s, 2 min, 8 min, 32 min, then every 2 hours."""
    return timedelta(seconds=min(30 * 4 ** (attempts - 1), 7200))
