"""Exact arithmetic the stages share: line amounts, percentages and largest-remainder splits."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from kopilka.program.engine.values import Line

HUNDRED = Fraction(100)


def line_amount(line: Line) -> int:
    """round_half_up(price × quantity) in kopecks: the one rounding of a line's amount."""
    with localcontext(prec=64):
        exact = Decimal(line.price) * Decimal(line.quantity)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(amount: int, percent: Decimal | Fraction) -> int:
    """floor(amount × percent / 100): a discount never rounds up against the business."""
    return int(Fraction(amount) * Fraction(percent) / HUNDRED)


def apportion(
    ideals: Sequence[Fraction], total: int, caps: Sequence[int] | None = None
) -> list[int]:
    """Split `total` into parts near `ideals` by largest remainder.

    Each part starts at the floor of its ideal share; the missing units go one per part to the
    largest remainders (earlier part first on a tie), skipping parts already at their cap, and go
    round again only when caps left too few parts with room.
    """
    if total == 0:
        return [0] * len(ideals)
    parts = [int(x) for x in ideals]  # floor: ideals are never negative
    order = sorted(range(len(parts)), key=lambda i: (-(ideals[i] - parts[i]), i))
    left = total - sum(parts)
    if left < 0 or (caps is not None and any(p > c for p, c in zip(parts, caps, strict=True))):
        raise ValueError("ideal shares exceed the total or the caps")
    while left > 0:
        room = [i for i in order if caps is None or parts[i] < caps[i]][:left]
        if not room:
            raise ValueError("caps leave no room for the total")
        for i in room:
            parts[i] += 1
        left -= len(room)
    return parts


def spread(total: int, weights: Sequence[int], caps: Sequence[int] | None = None) -> list[int]:
    """`total` split in proportion to integer `weights` (all zero: nothing to split on)."""
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("nothing to spread a non-zero total on")
        return [0] * len(weights)
    return apportion([Fraction(total * w, whole) for w in weights], total, caps)


def decimal_text(value: Decimal | Fraction) -> str:
    """5 -> "5", Decimal("2.50") -> "2.5", Fraction(15, 2) -> "7.5": exact, never a float."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
