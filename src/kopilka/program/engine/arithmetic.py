"""Exact integer arithmetic the stages share: line amounts and largest-remainder splits; and
what the program costs the business."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from kopilka.program.engine.values import Line


def program_cost(redeemed: int, discounts: int, rewards_cost: int, point_value: int) -> int:
    """Kopecks: the points redeemed at their value, the discounts other than vouchers', and the
    rewards' cost of the vouchers used (a free coffee costs what it costs, not its price). The
    analytics and the what-if replay both count it so."""
    return redeemed * point_value + discounts + rewards_cost


def line_amount(line: Line) -> int:
    """round_half_up(price × quantity) in kopecks: the one rounding of a line's amount."""
    quantity = line.quantity
    if quantity == quantity.to_integral_value():
        return line.price * int(quantity)
    # Enough precision that price * quantity is exact before the one rounding we mean to do.
    with localcontext(prec=64):
        exact = Decimal(line.price) * quantity
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apportion(
    numerators: Sequence[int], denominator: int, total: int, caps: Sequence[int] | None = None
) -> list[int]:
    """Split `total` into parts near numerators[i] / denominator by largest remainder.

    Each part starts at the floor of its ideal share; the missing units go one per part to the
    largest remainders (earlier part first on a tie), skipping parts already at their cap, and go
    round again only when caps left too few parts with room.
    """
    if total == 0:
        return [0] * len(numerators)
    shares = [divmod(x, denominator) for x in numerators]
    parts = [whole for whole, _rest in shares]
    left = total - sum(parts)
    if left < 0 or (caps is not None and any(p > c for p, c in zip(parts, caps, strict=True))):
        raise ValueError("ideal shares exceed the total or the caps")
    if left == 0:
        return parts
    order = sorted(range(len(parts)), key=lambda i: (-shares[i][1], i))
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
    return apportion([total * w for w in weights], whole, total, caps)


def decimal_text(value: Decimal | Fraction | int, digits: int = 0) -> str:
    """5 -> "5", Decimal("2.50") -> "2.5", Fraction(15, 2) -> "7.5", (25_000, 4) -> "2.5":
    exact, never a float; an integer is divided by 10 ** digits."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    elif isinstance(value, int):
        value = Decimal(value).scaleb(-digits)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
