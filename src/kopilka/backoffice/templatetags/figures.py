"""How figures read on staff pages: money in roubles, shares in per cent, in the active language."""

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(kopecks: float | None) -> str:
    if kopecks is None:
        return "—"
    return f"{number_format(round(kopecks / 100), 0, force_grouping=True)} ₽"


@register.filter
def percent(share: float | None) -> str:
    if share is None:
        return "—"
    return f"{number_format(share * 100, 1)} %"


@register.filter
def figure(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "—"
    return str(number_format(value, decimals, force_grouping=True))


@register.filter
def kpi_value(value: float | None, unit: str) -> str:
    """A KPI in its unit (see analytics.labels.Unit)."""
    if unit == "money":
        return money(value)
    if unit == "share":
        return percent(value)
    return figure(value, 2 if unit == "ratio" else 0)
