"""Message texts: the variables a text may use, and what a text must be to be saved or sent."""

from datetime import datetime, timedelta
from string import Formatter

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.errors import DomainError
from kopilka.messaging.sms import SmsLength, sms_length

# What every text may use (campaigns fill these); a trigger's texts may also use its own.
VARIABLES = ("name", "balance", "expiring_points", "expiring_date")
TRIGGER_VARIABLES: dict[str, tuple[str, ...]] = {
    "points_earned": ("points", "day"),
    "tier_reached": ("tier", "benefits"),
    "tier_at_risk": ("tier", "spend_to_keep", "keep_by"),
    "reward_affordable": ("reward", "reward_price"),
    "voucher_expiring": ("reward", "voucher", "voucher_until"),
    "digest": ("benefits", "reward", "tier", "tier_progress"),
    "birthday": (),
    "points_expiring": (),
}
# What the preview fills in: long enough to count an SMS's parts honestly.
SAMPLE = {
    "name": "Екатерина",
    "balance": "12 345",
    "expiring_points": "1 200",
    "expiring_date": "31.12.2026",
    "points": "1 250",
    "day": "30.11.2026",
    "tier": "Золотой",
    "benefits": "5 % баллами с каждой покупки; баллами можно оплатить до 30 % чека",
    "spend_to_keep": "12 500 ₽",
    "keep_by": "31.12.2026",
    "reward": "Капучино 0,4 л в подарок",
    "reward_price": "1 500",
    "voucher": "K7QX-93MD",
    "voucher_until": "31.12.2026",
    "tier_progress": "до уровня «Платиновый» осталось 12 500 ₽",
}


# Triggers about the member's own account; every other template (birthday, digest, a campaign's)
# is advertising: it needs the channel's marketing consent and carries an unsubscribe link.
SERVICE_TRIGGERS = frozenset(
    {"login_code", "points_expiring", "points_earned", "tier_reached", "tier_at_risk",
     "reward_affordable", "voucher_expiring"}
)  # fmt: skip


def advertising(name: str) -> bool:
    return name not in SERVICE_TRIGGERS


def variables_for(name: str) -> tuple[str, ...]:
    """The variables a template of this name may use: a trigger's own besides the common ones."""
    return VARIABLES + TRIGGER_VARIABLES.get(name, ())


class TemplateInvalid(DomainError):
    code = "template_invalid"


def template_check(text: str, variables: tuple[str, ...] = VARIABLES) -> None:
    """Refuse a text with a variable we do not fill or a broken brace."""
    try:
        names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
    except ValueError as exc:
        message = _("The text has an unmatched brace: %(error)s") % {"error": exc}
        raise TemplateInvalid(message) from None
    unknown = sorted(names - set(variables))
    if unknown:
        raise TemplateInvalid(
            _("Unknown variables %(unknown)s; the text may use %(known)s.")
            % {
                "unknown": ", ".join(f"{{{n}}}" for n in unknown),
                "known": ", ".join(f"{{{n}}}" for n in variables),
            }
        )


def sms_unsubscribe_added(text: str, url: str, language: str) -> str:
    """An advertising SMS ends with its short unsubscribe link."""
    with translation.override(language):
        return f"{text} " + _("Stop: %(url)s") % {"url": url}


def sample_length(
    text: str, variables: tuple[str, ...] = VARIABLES, *, advertising: bool = False
) -> SmsLength:
    """The SMS length of `text` with sample values in its variables (and, for advertising, the
    unsubscribe link the sender adds)."""
    template_check(text, variables)
    sample = text.format_map(SAMPLE)
    if advertising:
        url = f"{settings.KOPILKA_PUBLIC_URL}/u/{'x' * 17}"
        sample = sms_unsubscribe_added(sample, url, translation.get_language() or "ru")
    return sms_length(sample)


def sms_template_check(
    text: str, variables: tuple[str, ...] = VARIABLES, *, advertising: bool = False
) -> SmsLength:
    """Refuse an SMS text longer than `KOPILKA_SMS_MAX_PARTS` parts (with sample values)."""
    length = sample_length(text, variables, advertising=advertising)
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


def valid_through(moment: datetime, language: str) -> str:
    """The last day before `moment` (a business-day midnight: points, vouchers and tiers end at
    one), as the language writes a short date: what a member can still use it on."""
    last_day = (moment.astimezone(clock.business_tz()) - timedelta(microseconds=1)).date()
    with translation.override(language):
        return formats.date_format(last_day, "SHORT_DATE_FORMAT")
