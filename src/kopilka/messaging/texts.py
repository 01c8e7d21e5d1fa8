"""Message texts: the variables a text may use, and what a text must be to be saved or sent."""

from string import Formatter

from django.conf import settings
from django.utils.translation import gettext as _

from kopilka.core.errors import DomainError
from kopilka.messaging.sms import SmsLength, sms_length

VARIABLES = ("name", "balance", "expiring_points", "expiring_date")
# What the preview fills in: long enough to count an SMS's parts honestly.
SAMPLE = {
    "name": "Екатерина",
    "balance": "12 345",
    "expiring_points": "1 200",
    "expiring_date": "31.12.2026",
}


class TemplateInvalid(DomainError):
    code = "template_invalid"


def template_check(text: str) -> None:
    """Refuse a text with a variable we do not fill or a broken brace."""
    try:
        names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
    except ValueError as exc:
        message = _("The text has an unmatched brace: %(error)s") % {"error": exc}
        raise TemplateInvalid(message) from None
    unknown = sorted(names - set(VARIABLES))
    if unknown:
        raise TemplateInvalid(
            _("Unknown variables %(unknown)s; the text may use %(known)s.")
            % {
                "unknown": ", ".join(f"{{{n}}}" for n in unknown),
                "known": ", ".join(f"{{{n}}}" for n in VARIABLES),
            }
        )


def sample_length(text: str) -> SmsLength:
    """The SMS length of `text` with sample values in its variables."""
    template_check(text)
    return sms_length(text.format_map(SAMPLE))


def sms_template_check(text: str) -> SmsLength:
    """Refuse an SMS text longer than `KOPILKA_SMS_MAX_PARTS` parts (with sample values)."""
    length = sample_length(text)
    if length.parts > settings.KOPILKA_SMS_MAX_PARTS:
        raise TemplateInvalid(
            _("The SMS takes %(parts)s parts (%(characters)s characters); at most %(max)s.")
            % {
                "parts": length.parts,
                "characters": length.characters,
                "max": settings.KOPILKA_SMS_MAX_PARTS,
            }
        )
    return length
