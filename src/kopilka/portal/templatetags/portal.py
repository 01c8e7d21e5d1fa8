"""Figures as a member reads them: 12 345 points, 1 234,50 ₽, a card number in fours."""

from django import template

from kopilka.core.money import number_text, rubles_text

register = template.Library()


register.filter("points", number_text)
register.filter("rubles", rubles_text)


@register.filter
def card(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@register.filter
def points_word(value: int) -> str:
    """ "балл", "балла" or "баллов" as the number asks."""
    from django.utils.translation import ngettext

    return ngettext("point", "points", abs(int(value)))
