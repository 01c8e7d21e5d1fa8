"""Figures as a member reads them: 12 345 points, 1 234,50 ₽, a card number in fours."""

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kopilka.core.ids import card_number_text
from kopilka.core.money import number_text, rubles_text

register = template.Library()


register.filter("points", number_text)
register.filter("rubles", rubles_text)


register.filter("card", card_number_text)


@register.filter
def points_word(value: int) -> str:
    """ "балл", "балла" or "баллов" as the number asks."""

    return ngettext("point", "points", abs(int(value)))


CONSENT_SOURCES = [  # the first prefix that fits names where a decision was made
    ("portal:join", _("when joining on the site")),
    ("portal", _("on your page")),
    ("terminal:", _("at the till")),
    ("pos", _("at the till")),
    ("telegram:stop", _("with /stop in Telegram")),
    ("telegram", _("in the Telegram bot")),
    ("sms:stop", _("by answering STOP to an SMS")),
    ("unsubscribe", _("by the unsubscribe link")),
    ("account_deleted", _("when the account was deleted")),
]


@register.filter
def consent_source(source: str) -> str:
    return next(
        (str(words) for prefix, words in CONSENT_SOURCES if source.startswith(prefix)), source
    )


@register.simple_tag
def consent_document(purpose: str) -> str:
    """The slug of the consent's own document page, or "" (the service switches have none)."""
    return {"personal_data": "personal-data", "marketing": "marketing"}.get(purpose, "")
