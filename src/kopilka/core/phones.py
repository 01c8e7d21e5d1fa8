"""Phone numbers are stored in E.164 (+79161234567); the default region is Russia."""

import phonenumbers
from django.utils.translation import gettext as _

from kopilka.core.errors import DomainError


class InvalidPhone(DomainError):
    code = "invalid_phone"


def normalize_phone(raw: str, region: str = "RU") -> str:
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(
            _("Not a phone number."), fields={"phone": _("Not a phone number.")}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            _("Not a valid phone number."), fields={"phone": _("Not a valid phone number.")}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
