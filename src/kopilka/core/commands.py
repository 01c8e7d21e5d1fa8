"""What management commands share: reading their options."""

from datetime import date

from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def option_date(value: str | None, option: str) -> date | None:
    """A --option given as YYYY-MM-DD, None when it is not given; anything else is refused."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(option)s must be a date as YYYY-MM-DD, not “%(value)s”.")
            % {"option": option, "value": value}
        ) from None
