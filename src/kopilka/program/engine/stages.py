"""The stages of a quote, in the order `quote` runs them; each is a small pure function.

1. `eligible_rules`: the rules whose receipt conditions hold (store, day, time, dates, minimum
   receipt, member flags) and whose limits the member has not used up;
2. `combine`: for each line, the rules whose line conditions hold (categories, SKUs; receipt
   bonuses included, on the lines they match), combined: the highest-priority `exclusive` rule
   alone, otherwise every `stack` rule and the one `best` rule worth most to the member;
3. `discounts`: the mode's own discount and the discount rules, per line;
4. `redemption`: how many points may pay and how they spread over the lines;
5. `earning`: the earn rate per line (the mode's, replaced by `earn_percent`, times every
   `earn_multiplier`) on the money paid, plus `points_per_unit`;
6. `bonuses`: each `bonus_points` rule that applied on at least one line, once per receipt,
   spread over the lines it applied on.

Lines in a category excluded from an action (by law: tobacco and nicotine) take no part in it:
no discount, no points paid, no points earned, and they count towards no rule's conditions.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from kopilka.program.engine.arithmetic import HUNDRED, apportion, percent_of, spread
from kopilka.program.engine.values import (
    Action,
    Line,
    MemberState,
    Program,
    Receipt,
    Rule,
)


def rule_order(rule: Rule) -> tuple[int, str]:
    """Higher priority first, then by code: never the order rules were written in."""
    return -rule.priority, rule.code


def excluded_actions(program: Program, lines: Sequence[Line]) -> list[frozenset[Action]]:
    return [program.excluded_categories.get(line.category, frozenset()) for line in lines]


def eligible_rules(
    receipt: Receipt,
    member: MemberState,
    program: Program,
    amounts: Sequence[int],
    excluded: Sequence[frozenset[Action]],
) -> list[Rule]:
    """Rules whose receipt-level conditions hold and whose limits are not used up, in rule order."""
    local = receipt.at.astimezone(ZoneInfo(receipt.time_zone))
    day, clock_time, weekday = local.date(), local.time().replace(tzinfo=None), local.isoweekday()
    # Excluded lines count towards no condition: a tobacco purchase must not unlock a bonus.
    counted = sum(a for a, ex in zip(amounts, excluded, strict=True) if not ex)
    chosen = []
    for rule in program.rules:
        w, limit = rule.when, rule.limit
        if (
            (w.date_from is not None and day < w.date_from)
            or (w.date_to is not None and day > w.date_to)
            or (w.weekdays is not None and weekday not in w.weekdays)
            or (w.time_from is not None and clock_time < w.time_from)
            or (w.time_to is not None and clock_time >= w.time_to)
            or (w.stores is not None and receipt.store not in w.stores)
            or (w.min_receipt is not None and counted < w.min_receipt)
            or (
                w.enrolled_within_days is not None
                and (
                    member.enrolled_at is None
                    or receipt.at >= member.enrolled_at + timedelta(days=w.enrolled_within_days)
                )
            )
            or (
                limit.per_member_per_day is not None
                and member.day_uses.get(rule.code, 0) >= limit.per_member_per_day
            )
            or (
                limit.per_member_per_month is not None
                and member.month_uses.get(rule.code, 0) >= limit.per_member_per_month
            )
        ):
            continue
        chosen.append(rule)
    return sorted(chosen, key=rule_order)


def line_matches(rule: Rule, line: Line, excluded: frozenset[Action]) -> bool:
    """The rule's line conditions hold (a bonus never matches a line excluded from earning)."""
    w = rule.when
    if rule.then.bonus_points is not None and "earn" in excluded:
        return False
    return (w.categories is None or line.category in w.categories) and (
        w.skus is None or line.sku in w.skus
    )


@dataclass(frozen=True)
class LineBase:
    """What a line gets before any rule: its amount, the mode's discount and earn rate."""

    amount: int
    discount_percent: Decimal
    earn_percent: Decimal
    excluded: frozenset[Action]


def line_worth(
    base: LineBase, rules: Sequence[Rule], point_value: int, bonus_share: Mapping[str, Fraction]
) -> Fraction:
    """Kopecks a set of rules is worth to the member on one line, before points pay for it:
    the discount, the points earned at the point's value, and each bonus's share of the line
    (its points over the lines it matches)."""
    t = terms(base, rules)
    discount = percent_of(base.amount, t.discount_percent)
    paid = Fraction(base.amount - discount)
    bonuses = sum((bonus_share[r.code] for r in rules if r.code in bonus_share), Fraction(0))
    return discount + paid * t.earn_percent / HUNDRED + (t.per_unit + bonuses) * point_value


def _line_terms(base: LineBase, rules: Sequence[Rule]) -> tuple[Fraction, Fraction, int]:
    """(discount %, earn %, points per unit) of a line under `rules`, exclusions applied."""
    discount = Fraction(0)
    if "discount" not in base.excluded:
        discount = Fraction(base.discount_percent) + sum(
            (Fraction(r.then.discount_percent) for r in rules if r.then.discount_percent),
            Fraction(0),
        )
    rate, per_unit = Fraction(0), 0
    if "earn" not in base.excluded:
        replacing = [r.then.earn_percent for r in rules if r.then.earn_percent is not None]
        rate = Fraction(max(replacing)) if replacing else Fraction(base.earn_percent)
        for r in rules:
            if r.then.earn_multiplier is not None:
                rate *= Fraction(r.then.earn_multiplier)
        per_unit = sum(r.then.points_per_unit or 0 for r in rules)
    return min(discount, HUNDRED), rate, per_unit


def combine(
    base: LineBase,
    rules: Sequence[Rule],
    point_value: int,
    bonus_share: Mapping[str, Fraction],
) -> tuple[Rule, ...]:
    """The rules that apply to one line, from those whose conditions hold (in rule order);
    receipt bonuses take part like any other rule on the lines they match."""
    exclusive = [r for r in rules if r.combine == "exclusive"]
    if exclusive:
        return (exclusive[0],)
    stack = [r for r in rules if r.combine == "stack"]
    best = [r for r in rules if r.combine == "best"]
    if best:
        # rule order already puts higher priority, then lower code, first; max keeps the first
        winner = max(best, key=lambda r: line_worth(base, [*stack, r], point_value, bonus_share))
        stack.append(winner)
    return tuple(sorted(stack, key=rule_order))


def bonus_shares(
    rules: Sequence[Rule], lines: Sequence[Line], excluded: Sequence[frozenset[Action]]
) -> dict[str, Fraction]:
    """Each bonus rule's points over the number of lines it matches: its worth on one line."""
    shares = {}
    for rule in rules:
        if rule.then.bonus_points is not None:
            hits = sum(
                line_matches(rule, line, ex) for line, ex in zip(lines, excluded, strict=True)
            )
            if hits:
                shares[rule.code] = Fraction(rule.then.bonus_points, hits)
    return shares


@dataclass(frozen=True)
class LineTerms:
    discount_percent: Fraction
    earn_percent: Fraction
    per_unit: int  # points per unit, from rules


def terms(base: LineBase, rules: Sequence[Rule]) -> LineTerms:
    discount, rate, per_unit = _line_terms(base, rules)
    return LineTerms(discount, rate, per_unit)


def discounts(amounts: Sequence[int], line_terms: Sequence[LineTerms]) -> list[int]:
    return [percent_of(a, t.discount_percent) for a, t in zip(amounts, line_terms, strict=True)]


@dataclass(frozen=True)
class Redemption:
    max_redeemable: int
    share_limit: int
    lines_limit: int
    caps: list[int]  # points each line can take


def redemption_limits(
    after_discount: Sequence[int],
    excluded: Sequence[frozenset[Action]],
    program: Program,
    available: int,
) -> Redemption:
    """At most redeem_max_percent of what can be paid with points, whole point values per line."""
    payable = [0 if "redeem" in ex else a for a, ex in zip(after_discount, excluded, strict=True)]
    caps = [a // program.point_value for a in payable]
    share_limit = (
        int(Fraction(sum(payable)) * Fraction(program.redeem_max_percent) / HUNDRED)
        // program.point_value
    )
    lines_limit = sum(caps)
    return Redemption(
        max_redeemable=max(0, min(available, share_limit, lines_limit)),
        share_limit=share_limit,
        lines_limit=lines_limit,
        caps=caps,
    )


def redeem_spread(points: int, after_discount: Sequence[int], limits: Redemption) -> list[int]:
    """Points per line in proportion to what the line can take."""
    weights = [a if cap else 0 for a, cap in zip(after_discount, limits.caps, strict=True)]
    return spread(points, weights, limits.caps)


def earning(
    payables: Sequence[int],
    line_terms: Sequence[LineTerms],
    quantities: Sequence[Decimal],
    point_value: int,
) -> tuple[list[int], list[int]]:
    """(percent points, per-unit points) per line.

    The percent points of the receipt are floored once, then spread by largest remainder, so
    the receipt figure is exact and each line gets the floor or floor + 1 of its own share.
    """
    ideals = [
        Fraction(p) * t.earn_percent / (HUNDRED * point_value)
        for p, t in zip(payables, line_terms, strict=True)
    ]
    percent_points = apportion(ideals, int(sum(ideals, Fraction(0))))
    per_unit = [int(Fraction(q) * t.per_unit) for q, t in zip(quantities, line_terms, strict=True)]
    return percent_points, per_unit


def bonuses(
    rules: Sequence[Rule], applied: Sequence[Sequence[Rule]]
) -> list[tuple[Rule, list[bool]]]:
    """The bonus rules that applied on at least one line, with the lines they applied on."""
    chosen = []
    for rule in rules:
        if rule.then.bonus_points is not None:
            hits = [rule in on_line for on_line in applied]
            if any(hits):
                chosen.append((rule, hits))
    return chosen


def bonus_spread(points: int, hits: Sequence[bool], payables: Sequence[int]) -> list[int]:
    """A receipt bonus spread over the lines it matched, by what they paid (evenly if nothing)."""
    weights = [p if hit else 0 for p, hit in zip(payables, hits, strict=True)]
    if sum(weights) == 0:
        weights = [1 if hit else 0 for hit in hits]
    return spread(points, weights)
