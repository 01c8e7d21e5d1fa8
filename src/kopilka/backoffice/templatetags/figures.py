"""How figures read on staff pages: money in roubles, shares in per cent, in the active language."""

import math

from django import template
from django.utils.formats import number_format

register = template.Library()


def _missing(value: float | None) -> bool:
    """No figure: nothing measured, or an average over nobody (NaN)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


@register.filter
def money(kopecks: float | None) -> str:
    if kopecks is None or _missing(kopecks):
        return "—"
    return f"{number_format(round(kopecks / 100), 0, force_grouping=True)} ₽"


@register.filter
def percent(share: float | None) -> str:
    if share is None or _missing(share):
        return "—"
    # number_format cuts decimals off rather than rounding them.
    return f"{number_format(round(share * 100, 1), 1)} %"


@register.filter
def figure(value: float | None, decimals: int = 0) -> str:
    if value is None or _missing(value):
        return "—"
    return str(number_format(round(value, decimals), decimals, force_grouping=True))


@register.filter
def kpi_value(value: float | None, unit: str) -> str:
    """A KPI in its unit (see analytics.labels.Unit)."""
    if unit == "money":
        return money(value)
    if unit == "share":
        return percent(value)
    return figure(value, 2 if unit == "ratio" else 0)
