"""The rules engine: a receipt, a member snapshot and the program rules in, a quote out.

Pure on purpose (no database, settings or clock): the calculate endpoint, the commit, the cashier
screen, the portal's "why" and the what-if simulation all call `quote` with plain values, and
hypothesis can throw thousands of receipts at it. Money is integer kopecks, points are integers.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from kopilka.core.errors import DomainError
from kopilka.core.money import format_rubles

POINT_VALUE = 100  # kopecks per point when redeeming: 1 point = 1 rouble
BP = 10_000  # basis points in a whole
EARN_DENOMINATOR = BP * POINT_VALUE  # payable kopecks * earn_rate_bp / this = points


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    category: str
    quantity: Decimal  # > 0, may be fractional (0.5 kg)
    price: int  # kopecks per unit, >= 0

    def __post_init__(self) -> None:
        # A float quantity would smuggle binary rounding into money.
        if isinstance(self.quantity, float) or not Decimal(self.quantity).is_finite():
            raise ValueError(f"quantity must be a finite Decimal, got {self.quantity!r}")
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
        if self.price < 0:
            raise ValueError(f"price must not be negative, got {self.price}")


@dataclass(frozen=True)
class Rules:
    earn_rate_bp: int = 500  # basis points of money actually paid: 500 = 5 %
    max_redeem_share_bp: int = 3000  # at most 30 % of the receipt amount payable with points
    pending_days: int = 0
    expiry_days: int = 365

    def __post_init__(self) -> None:
        if (
            min(self.earn_rate_bp, self.max_redeem_share_bp, self.pending_days, self.expiry_days)
            < 0
        ):
            raise ValueError(f"rules must not be negative: {self}")
        if self.max_redeem_share_bp > BP:
            raise ValueError(f"max_redeem_share_bp is at most {BP}, got {self.max_redeem_share_bp}")


@dataclass(frozen=True)
class MemberSnapshot:
    member_id: int
    available: int  # points spendable now
    pending: int  # points not yet available


def _percent(bp: object) -> str:
    """500 -> "5", 250 -> "2.5": exact, never a float."""
    return f"{Decimal(str(bp)) / 100:f}"


@dataclass(frozen=True)
class Reason:
    """One figure of a quote explained; `params` are JSON-ready (ints, money as decimal strings)."""

    code: str
    params: dict[str, object]

    def render(self) -> str:
        # Imported here so that everything else in the engine runs without Django configured.
        from django.utils.translation import gettext as _
        from django.utils.translation import ngettext

        p = self.params

        def n(key: str) -> int:
            value = p[key]
            assert isinstance(value, int), (key, value)
            return value

        args = {**p, "rate": _percent(p.get("rate_bp", 0)), "share": _percent(p.get("share_bp", 0))}
        match self.code:
            case "no_member":
                text = _("No member card: no points are earned.")
            case "redeem":
                text = ngettext(
                    "%(points)s point pays %(money)s ₽ of this receipt.",
                    "%(points)s points pay %(money)s ₽ of this receipt.",
                    n("points"),
                )
            case "redeem_cap" if p["limit"] == "lines":
                text = ngettext(
                    "Points pay only whole roubles of each item: up to %(points)s point here.",
                    "Points pay only whole roubles of each item: up to %(points)s points here.",
                    n("points"),
                )
            case "redeem_cap":
                text = ngettext(
                    "At most %(share)s%% of a receipt can be paid with points: "
                    "up to %(points)s point here.",
                    "At most %(share)s%% of a receipt can be paid with points: "
                    "up to %(points)s points here.",
                    n("points"),
                )
            case "earn" if n("points") == 0:
                text = _(
                    "You earn no points: %(rate)s%% of %(paid)s ₽ paid is less than one point."
                )
            case "earn":
                text = ngettext(
                    "You earn %(points)s point: %(rate)s%% of %(paid)s ₽ paid.",
                    "You earn %(points)s points: %(rate)s%% of %(paid)s ₽ paid.",
                    n("points"),
                )
            case "pending":
                text = ngettext(
                    "The points become available in %(days)s day.",
                    "The points become available in %(days)s days.",
                    n("days"),
                )
            case "expiry":
                text = ngettext(
                    "Points are valid for %(days)s day.",
                    "Points are valid for %(days)s days.",
                    n("days"),
                )
            case "balance_after" if n("pending") > 0:
                text = ngettext(
                    "Balance after this receipt: "
                    "%(available)s point available, %(pending)s pending.",
                    "Balance after this receipt: "
                    "%(available)s points available, %(pending)s pending.",
                    n("available"),
                )
            case "balance_after":
                text = ngettext(
                    "Balance after this receipt: %(available)s point available.",
                    "Balance after this receipt: %(available)s points available.",
                    n("available"),
                )
            case _unknown:
                raise ValueError(f"no text for reason {self.code!r}")
        return text % args


@dataclass(frozen=True)
class LineQuote:
    sku: str
    amount: int  # kopecks = round_half_up(price * quantity)
    redeem_points: int
    payable: int  # amount - redeem_points * POINT_VALUE, never negative
    earn_points: int


@dataclass(frozen=True)
class Quote:
    lines: tuple[LineQuote, ...]
    amount: int
    redeem_points: int
    payable: int
    earn_points: int
    max_redeemable: int
    available_after: int
    pending_after: int
    reasons: tuple[Reason, ...]

    def explanation(self) -> list[str]:
        return [r.render() for r in self.reasons]


class QuoteError(DomainError):
    """A request the rules forbid: a 422 whose message is worded late, in the request's language."""

    code: str = "quote_error"

    def describe(self) -> tuple[str, dict[str, str]]:
        message = self.explain()
        return message, {"redeem_points": message}

    def explain(self) -> str:
        return self._message


class InsufficientPoints(QuoteError):
    code = "insufficient_points"  # params: available, requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _("Not enough points: %(available)d available, %(requested)d asked.") % {
            "available": 0,
            "requested": 0,
            **self.params,
        }


class RedeemLimitExceeded(QuoteError):
    code = "redeem_limit_exceeded"  # params: max_redeemable, requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _(
            "At most %(max_redeemable)d points can pay for this receipt, %(requested)d asked."
        ) % {"max_redeemable": 0, "requested": 0, **self.params}


class NoMemberToRedeem(QuoteError):
    code = "member_required"  # params: requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _("Points can only be redeemed by a member: give member_id, card_number or phone.")


def line_amount(line: Line) -> int:
    # Enough precision that price * quantity is exact before the one rounding we mean to do.
    with localcontext(prec=64):
        exact = Decimal(line.price) * Decimal(line.quantity)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(kopecks: int) -> str:
    """123450 -> "1234.50", -5 -> "-0.05": the decimal string the API and the texts use."""
    return format_rubles(kopecks)


def _apportion(
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
    order = sorted(range(len(parts)), key=lambda i: (-shares[i][1], i))
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


def earn_for_payable(payables: list[int], rules: Rules) -> list[int]:
    """Points earned per line: the receipt total is floored once, then spread by largest remainder.

    Flooring per line would lose up to a point per line; flooring the total and spreading it keeps
    the receipt figure exact and gives each line the floor or floor + 1 of its own ideal share.
    """
    total = sum(payables) * rules.earn_rate_bp // EARN_DENOMINATOR
    return _apportion([p * rules.earn_rate_bp for p in payables], EARN_DENOMINATOR, total)


def _redeem_points(
    redeem: int | Literal["max"], member: MemberSnapshot | None, max_redeemable: int
) -> int:
    if redeem == "max":
        return max_redeemable
    if isinstance(redeem, bool) or not isinstance(redeem, int):
        raise TypeError(f'redeem must be an int or "max", got {redeem!r}')
    if redeem < 0:
        raise ValueError(f"redeem must not be negative, got {redeem}")
    if redeem == 0:
        return 0
    if member is None:
        raise NoMemberToRedeem("Points can be redeemed only with a member card.", requested=redeem)
    # Checked before the limit: "you do not have that many" is the answer a member can act on.
    if redeem > member.available:
        raise InsufficientPoints(
            f"Only {member.available} points are available, {redeem} requested.",
            available=member.available,
            requested=redeem,
        )
    if redeem > max_redeemable:
        raise RedeemLimitExceeded(
            f"At most {max_redeemable} points can be redeemed on this receipt, {redeem} requested.",
            max_redeemable=max_redeemable,
            requested=redeem,
        )
    return redeem


def quote(
    lines: tuple[Line, ...] | list[Line],
    member: MemberSnapshot | None,
    rules: Rules,
    redeem: int | Literal["max"],
) -> Quote:
    """Price a receipt: what points can pay, what is paid, what is earned, and why.

    Raises QuoteError subclasses for a redeem the member or the rules do not allow.
    """
    amounts = [line_amount(line) for line in lines]
    amount = sum(amounts)
    # A point pays a whole rouble, so a line can take at most its whole roubles in points.
    caps = [a // POINT_VALUE for a in amounts]
    share_limit = amount * rules.max_redeem_share_bp // (BP * POINT_VALUE)
    lines_limit = sum(caps)
    max_redeemable = 0
    if member is not None:
        max_redeemable = max(0, min(member.available, share_limit, lines_limit))

    points = _redeem_points(redeem, member, max_redeemable)
    line_redeem = _apportion([points * a for a in amounts], amount, points, caps)
    payables = [a - r * POINT_VALUE for a, r in zip(amounts, line_redeem, strict=True)]
    line_earn = earn_for_payable(payables, rules) if member is not None else [0] * len(amounts)
    payable, earn = sum(payables), sum(line_earn)

    available_after = pending_after = 0
    reasons: list[Reason] = []
    if member is None:
        reasons.append(Reason("no_member", {}))
    else:
        pending = rules.pending_days > 0
        available_after = member.available - points + (0 if pending else earn)
        pending_after = member.pending + (earn if pending else 0)
        if points:
            reasons.append(
                Reason("redeem", {"points": points, "money": format_money(points * POINT_VALUE)})
            )
        if max_redeemable < member.available:
            limit = "share" if share_limit <= lines_limit else "lines"
            cap: dict[str, object] = {
                "points": max_redeemable,
                "limit": limit,
                "share_bp": rules.max_redeem_share_bp,
            }
            reasons.append(Reason("redeem_cap", cap))
        paid = format_money(payable)
        reasons.append(
            Reason("earn", {"points": earn, "rate_bp": rules.earn_rate_bp, "paid": paid})
        )
        if earn and pending:
            reasons.append(Reason("pending", {"days": rules.pending_days}))
        if earn and rules.expiry_days:
            reasons.append(Reason("expiry", {"days": rules.expiry_days}))
        balance: dict[str, object] = {"available": available_after, "pending": pending_after}
        reasons.append(Reason("balance_after", balance))

    return Quote(
        lines=tuple(
            LineQuote(sku=line.sku, amount=a, redeem_points=r, payable=p, earn_points=e)
            for line, a, r, p, e in zip(
                lines, amounts, line_redeem, payables, line_earn, strict=True
            )
        ),
        amount=amount,
        redeem_points=points,
        payable=payable,
        earn_points=earn,
        max_redeemable=max_redeemable,
        available_after=available_after,
        pending_after=pending_after,
        reasons=tuple(reasons),
    )
