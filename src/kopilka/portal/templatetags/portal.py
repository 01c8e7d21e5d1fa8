"""Figures as a member reads them: 12 345 points, 1 234,50 ₽, a card number in fours."""

from django import template

register = template.Library()
NBSP = "\u00a0"


@register.filter
def points(value: int) -> str:
    sign = "−" if value < 0 else ""
    return sign + f"{abs(int(value)):,}".replace(",", NBSP)


@register.filter
def rubles(kopecks: int) -> str:
    whole, cents = divmod(int(kopecks), 100)
    grouped = f"{whole:,}".replace(",", NBSP)
    return f"{grouped}{NBSP}₽" if cents == 0 else f"{grouped},{cents:02d}{NBSP}₽"


@register.filter
def card(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@register.filter
def points_word(value: int) -> str:
    """ "балл", "балла" or "баллов" as the number asks."""
    from django.utils.translation import ngettext

    return ngettext("point", "points", abs(int(value)))
