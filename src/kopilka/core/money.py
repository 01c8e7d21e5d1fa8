"""Money is integer kopecks inside, a decimal string of roubles outside ("1299.90")."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import ngettext

KOPECKS = Decimal(100)


class MoneyFormatError(ValueError):
    pass


def parse_rubles(text: str | Decimal | int) -> int:
    """'1299.90' -> 129990. Rejects more than two decimals, floats, NaN and infinities."""
    if isinstance(text, float):
        raise MoneyFormatError("money must be a decimal string, not a float")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise MoneyFormatError(f"not a money amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyFormatError(f"not a money amount: {text!r}")
    kopecks = value * KOPECKS
    if kopecks != kopecks.to_integral_value():
        raise MoneyFormatError(f"at most two decimal places: {text!r}")
    return int(kopecks)


def format_rubles(kopecks: int) -> str:
    """123450 -> "1234.50", -5 -> "-0.05": integer arithmetic, as exact as Decimal and faster
    (every line of every answer formats several amounts)."""
    roubles, rest = divmod(abs(kopecks), 100)
    return f"{'-' if kopecks < 0 else ''}{roubles}.{rest:02d}"


NBSP = "\u00a0"


def number_text(value: int) -> str:
    """12345 -> "12 345" (non-breaking space), -5 -> "−5": a figure as a member reads it."""
    return ("−" if value < 0 else "") + f"{abs(int(value)):,}".replace(",", NBSP)


def rubles_text(kopecks: int) -> str:
    """1250000 -> "12 500 ₽", 123450 -> "1 234,50 ₽": money as a member reads it."""
    whole, cents = divmod(int(kopecks), 100)
    grouped = number_text(whole)
    return f"{grouped}{NBSP}₽" if cents == 0 else f"{grouped},{cents:02d}{NBSP}₽"


def points_text(n: int) -> str:
    """12345 -> "12 345 баллов": a number of points with the word the number asks for."""
    return ngettext("%(n)s point", "%(n)s points", n) % {"n": number_text(n)}
