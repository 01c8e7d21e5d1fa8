"""The stages of a quote, in the order `quote` runs them; each is a small pure function.

1. `eligible_rules`: the rules whose receipt conditions hold (store, day, time, dates, minimum
   receipt, member flags) and whose limits the member has not used up;
2. `line_plan` and `choose`: for each line, the rules whose line conditions hold (categories,
   SKUs; receipt bonuses included, on the lines they match), combined: the highest-priority
   `exclusive` rule alone, otherwise every `stack` rule and the one `best` rule worth most to
   the member. What the rules can do on a kind of line (its category, SKU and exclusions, under
   the rules holding for the receipt) is planned once per program version (`line_plan`); only
   the `best` contest, which depends on the line's amount and the receipt's bonuses, is decided
   per line (`choose`);
3. `discounts`: the mode's own discount and the discount rules, per line;
4. `redemption_limits` and `redeem_spread`: how many points may pay and how they spread over
   the lines;
5. `earning`: the earn rate per line (the mode's, replaced by `earn_percent`, times every
   `earn_multiplier`) on the money paid, plus `points_per_unit`;
6. `bonuses`: each `bonus_points` rule that applied on at least one line, once per receipt,
   spread over the lines it applied on.

Lines in a category excluded from an action (by law: tobacco and nicotine) take no part in it:
no discount, no points paid, no points earned, and they count towards no rule's conditions.

All arithmetic is on integers: percentages and multipliers are whole numbers of `SCALE`ths
(`compiled`), an earn rate is a numerator over `SCALE ** (1 + multipliers)`, and every floor and
largest remainder is exact. A program is compiled once (`compiled`, cached per version).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from kopilka.program.engine.arithmetic import apportion, spread
from kopilka.program.engine.errors import VoucherNotApplicable
from kopilka.program.engine.values import (
    Action,
    Line,
    MemberState,
    Program,
    Receipt,
    Rule,
    VoucherTerms,
)

SCALE = 10_000  # percentages and multipliers in ten-thousandths: "2.5" % -> 25_000
HUNDRED = 100 * SCALE  # 100 % scaled
NO_ACTIONS: frozenset[Action] = frozenset()


def scaled(value: Decimal) -> int:
    """A percentage or multiplier as a whole number of SCALEths (exact, or refused)."""
    result = value * SCALE
    if result != result.to_integral_value():
        raise ValueError(f"at most 4 decimal places: {value}")
    return int(result)


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """A rule's figures as integers, with its place in rule order."""

    rule: Rule
    order: int  # 0 = first: highest priority, then lowest code
    code: str
    combine: str
    discount: int  # scaled %, 0 when the rule gives none
    earn_percent: int | None  # scaled %
    multiplier: int | None  # scaled
    per_unit: int
    bonus: int | None
    categories: frozenset[str] | None
    skus: frozenset[str] | None
    limited: bool  # a per-day or per-month limit: its uses are recorded and counted


@dataclass(frozen=True, eq=False)
class CompiledProgram:
    program: Program
    rules: tuple[CompiledRule, ...]  # in rule order
    redeem_max: int  # scaled %
    limited: bool  # some rule has a limit: rule uses matter
    # Where to look for a line's rules: those without line conditions, those that name SKUs (by
    # SKU), and those that name only categories (by category); each in rule order.
    anywhere: tuple[CompiledRule, ...]
    by_sku: dict[str, tuple[CompiledRule, ...]]
    by_category: dict[str, tuple[CompiledRule, ...]]

    # (category, sku) -> the rules whose line conditions hold for such a line; filled as lines
    # come (a catalogue is finite), read by `matching`
    matched: dict[tuple[str, str], tuple[CompiledRule, ...]] = field(default_factory=dict)
    # the rules holding for a receipt -> a small number, and (that number, a kind of line) ->
    # its plan, for `line_plan`
    holdings: dict[tuple[CompiledRule, ...], int] = field(default_factory=dict)
    plans: dict[tuple[object, ...], "LinePlan"] = field(default_factory=dict)
    # what a set of rules says on a line (the reasons' parts), for quote's texts
    parts: dict[tuple[object, ...], tuple[list[dict[str, object]], list[dict[str, object]]]] = (
        field(default_factory=dict)
    )

    def matching(self, line: Line) -> tuple[CompiledRule, ...]:
        """The rules whose line conditions (categories, SKUs) hold for `line`, in rule order."""
        key = (line.category, line.sku)
        found = self.matched.get(key)
        if found is None:
            candidates = sorted(
                {
                    *self.anywhere,
                    *self.by_sku.get(line.sku, ()),
                    *self.by_category.get(line.category, ()),
                },
                key=lambda r: r.order,
            )
            found = tuple(r for r in candidates if _conditions_hold(r, line))
            if len(self.matched) >= 10_000:
                self.matched.clear()
            self.matched[key] = found
        return found


def _conditions_hold(rule: CompiledRule, line: Line) -> bool:
    return (rule.categories is None or line.category in rule.categories) and (
        rule.skus is None or line.sku in rule.skus
    )


def rule_order(rule: Rule) -> tuple[int, str]:
    """Higher priority first, then by code: never the order rules were written in."""
    return -rule.priority, rule.code


_compiled: dict[int, CompiledProgram] = {}


def compiled(program: Program) -> CompiledProgram:
    """The program with its figures as integers; kept per program object (a version is
    immutable, and the cache holds the object, so its id is not reused while cached)."""
    cached = _compiled.get(id(program))
    if cached is not None and cached.program is program:
        return cached
    rules = []
    for order, rule in enumerate(sorted(program.rules, key=rule_order)):
        t = rule.then
        rules.append(
            CompiledRule(
                rule=rule,
                order=order,
                code=rule.code,
                combine=rule.combine,
                discount=scaled(t.discount_percent) if t.discount_percent else 0,
                earn_percent=None if t.earn_percent is None else scaled(t.earn_percent),
                multiplier=None if t.earn_multiplier is None else scaled(t.earn_multiplier),
                per_unit=t.points_per_unit or 0,
                bonus=t.bonus_points,
                categories=rule.when.categories,
                skus=rule.when.skus,
                limited=bool(rule.limit.per_member_per_day or rule.limit.per_member_per_month),
            )
        )
    by_sku: dict[str, list[CompiledRule]] = {}
    by_category: dict[str, list[CompiledRule]] = {}
    for r in rules:
        if r.skus is not None:
            for sku in r.skus:
                by_sku.setdefault(sku, []).append(r)
        elif r.categories is not None:
            for category in r.categories:
                by_category.setdefault(category, []).append(r)
    result = CompiledProgram(
        program=program,
        rules=tuple(rules),
        redeem_max=scaled(program.redeem_max_percent),
        limited=any(r.limited for r in rules),
        anywhere=tuple(r for r in rules if r.skus is None and r.categories is None),
        by_sku={sku: tuple(found) for sku, found in by_sku.items()},
        by_category={category: tuple(found) for category, found in by_category.items()},
    )
    if len(_compiled) >= 64:
        _compiled.clear()
    _compiled[id(program)] = result
    return result


def compiled_cache_clear() -> None:
    """Forget every compiled version (and its line plans): the next quote compiles anew."""
    _compiled.clear()


def excluded_actions(program: Program, lines: Sequence[Line]) -> list[frozenset[Action]]:
    table = program.excluded_categories
    return [table.get(line.category, NO_ACTIONS) for line in lines]


def eligible_rules(
    receipt: Receipt,
    member: MemberState,
    program: CompiledProgram,
    amounts: Sequence[int],
    excluded: Sequence[frozenset[Action]],
) -> list[CompiledRule]:
    """Rules whose receipt-level conditions hold and whose limits are not used up, in rule order."""
    local = receipt.at.astimezone(ZoneInfo(receipt.time_zone))
    day, clock_time, weekday = local.date(), local.time().replace(tzinfo=None), local.isoweekday()
    # Excluded lines count towards no condition: a tobacco purchase must not unlock a bonus.
    counted = sum(a for a, ex in zip(amounts, excluded, strict=True) if not ex)
    chosen = []
    for compiled_rule in program.rules:
        rule = compiled_rule.rule
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
        chosen.append(compiled_rule)
    return chosen


def acts_on(rule: CompiledRule, excluded: frozenset[Action]) -> bool:
    """Whether the rule's effect can act on a line excluded from `excluded`: a discount rule
    never matches a line excluded from discounts, an earning rule (bonuses included) never one
    excluded from earning, so it neither shapes nor uses up anything there."""
    discounts = rule.rule.then.discount_percent is not None
    return not ("discount" in excluded and discounts) and not ("earn" in excluded and not discounts)


def without_idle_multipliers(
    base: "LineBase", rules: tuple[CompiledRule, ...]
) -> tuple[CompiledRule, ...]:
    """A multiplier with no rate to multiply (the discount modes earn nothing of their own)
    gives the line nothing: it is not among the line's rules, and not used up."""
    if all(r.multiplier is None for r in rules):
        return rules
    replacing = [r.earn_percent for r in rules if r.earn_percent is not None]
    if max(replacing) if replacing else base.earn_percent:
        return rules
    return tuple(r for r in rules if r.multiplier is None)


@dataclass(frozen=True)
class LineBase:
    """What a kind of line gets before any rule: the mode's discount and earn rate, and the
    actions its category is excluded from."""

    discount: int  # scaled %
    earn_percent: int  # scaled %
    excluded: frozenset[Action]
    multiplier: int | None = None  # scaled: the member's tier multiplies every earn rate


@dataclass(frozen=True)
class LineTerms:
    discount: int  # scaled %, at most 100 %
    rate: int  # earn % = rate / SCALE ** (1 + multipliers)
    multipliers: int
    per_unit: int  # points per unit, from rules


def terms(base: LineBase, rules: Sequence[CompiledRule]) -> LineTerms:
    """A line's discount, earn rate and points per unit under `rules`, exclusions applied."""
    return StackSum.of(rules).terms(base)


def percent_of(amount: int, percent: int) -> int:
    """floor(amount × percent / 100) for a scaled percent: never rounds up against the business."""
    return amount * percent // HUNDRED


@dataclass(frozen=True, eq=False)
class Outcome:
    """One way the rules can end up on a line: the rules applied and the line's terms; for a
    `best` candidate also what the contest weighs (its terms with idle multipliers still in,
    whether the line earns, and the bonuses of the stack and the candidate)."""

    applied: tuple[CompiledRule, ...]
    terms: LineTerms
    weighed: LineTerms
    earns: bool
    bonuses: tuple[tuple[int, str], ...]  # (points, rule code)


@dataclass(frozen=True, eq=False)
class LinePlan:
    """What the rules holding for a receipt do on a kind of line: one outcome, or the `best`
    candidates' outcomes in rule order (the contest `choose` decides); and the bonus rules the
    line counts for."""

    outcomes: tuple[Outcome, ...]
    bonus_codes: tuple[str, ...]


def line_plan(
    program: CompiledProgram,
    holding: tuple[CompiledRule, ...],
    line: Line,
    base: LineBase,
) -> LinePlan:
    """The plan of `line` under the rules `holding` for its receipt (in rule order), kept per
    program version: a kind of line (category, SKU, the mode's terms) is planned once."""
    number = program.holdings.get(holding)
    if number is None:
        if len(program.holdings) >= 1_000:
            program.holdings.clear()
            program.plans.clear()
        number = program.holdings[holding] = len(program.holdings)
    key = (number, line.category, line.sku, base)
    plan = program.plans.get(key)
    if plan is None:
        if len(program.plans) >= 10_000:
            program.plans.clear()
        plan = program.plans[key] = _plan(program, set(holding), line, base)
    return plan


def _plan(
    program: CompiledProgram, holding: set[CompiledRule], line: Line, base: LineBase
) -> LinePlan:
    matched = [r for r in program.matching(line) if r in holding]
    bonus_codes = (
        () if "earn" in base.excluded else tuple(r.code for r in matched if r.bonus is not None)
    )
    rules = [r for r in matched if not base.excluded or acts_on(r, base.excluded)]
    # an idle multiplier is out before combining (as an exclusive it would knock out rules that
    # do act), and after (when the earn_percent it could multiply lost)
    rules = list(without_idle_multipliers(base, tuple(rules)))
    stack: list[CompiledRule] = []
    candidates: list[CompiledRule] = []
    for r in rules:
        if r.combine == "exclusive":  # rule order: the first is the highest-priority one
            stack, candidates = [r], []
            break
        if r.combine == "stack":
            stack.append(r)
        else:
            candidates.append(r)
    stacked = tuple(stack)
    sums = StackSum.of(stacked)

    def outcome(applied: tuple[CompiledRule, ...], extra: CompiledRule | None) -> Outcome:
        applied = without_idle_multipliers(base, applied)
        bonuses = sums.bonuses
        if extra is not None and extra.bonus is not None:
            bonuses += ((extra.bonus, extra.code),)
        return Outcome(
            applied=applied,
            terms=terms(base, applied),
            weighed=sums.terms(base, extra),
            earns="earn" not in base.excluded,
            bonuses=bonuses,
        )

    if not candidates:
        return LinePlan((outcome(stacked, None),), bonus_codes)
    outcomes = []
    for best in candidates:
        at = next((i for i, r in enumerate(stacked) if r.order > best.order), len(stacked))
        outcomes.append(outcome((*stacked[:at], best, *stacked[at:]), best))
    return LinePlan(tuple(outcomes), bonus_codes)


Worth = tuple[int, int]  # numerator, denominator (kopecks)


def choose(
    plan: LinePlan, amount: int, quantity: Decimal, point_value: int, bonus_hits: dict[str, int]
) -> Outcome:
    """The plan's outcome on a line of `amount`: the one, or the `best` candidate worth most to
    the member (on equal worth the earlier in rule order, the higher priority)."""
    outcomes = plan.outcomes
    if len(outcomes) == 1:
        return outcomes[0]
    best = outcomes[0]
    best_num, best_den = worth(best, amount, quantity, point_value, bonus_hits)
    for o in outcomes[1:]:
        num, den = worth(o, amount, quantity, point_value, bonus_hits)
        if num * best_den > best_num * den:
            best, best_num, best_den = o, num, den
    return best


def worth(
    o: Outcome, amount: int, quantity: Decimal, point_value: int, bonus_hits: dict[str, int]
) -> Worth:
    """Kopecks an outcome is worth to the member on a line of `amount` before points pay for it:
    the discount, the points earned at the point's value, and each bonus's share of the line
    (its points over the lines it matches), as an exact fraction."""
    t = o.weighed
    discount = percent_of(amount, t.discount)
    if not o.earns:
        return discount, 1
    per_unit = int(quantity * t.per_unit) if t.per_unit else 0
    rate_den = SCALE ** (1 + t.multipliers) * 100
    den = rate_den
    for _points, code in o.bonuses:
        den *= bonus_hits[code]
    num = (discount + per_unit * point_value) * den
    num += (amount - discount) * t.rate * (den // rate_den)
    for points, code in o.bonuses:
        num += points * point_value * (den // bonus_hits[code])
    return num, den


@dataclass(frozen=True)
class StackSum:
    """The stacked rules of a line summed once: what each `best` candidate adds to."""

    discount: int
    replacing: int | None
    multiplier: int
    multipliers: int
    per_unit: int
    bonuses: tuple[tuple[int, str], ...]  # (points, rule code)

    @classmethod
    def of(cls, stack: Sequence[CompiledRule]) -> "StackSum":
        replacing = [r.earn_percent for r in stack if r.earn_percent is not None]
        multiplier, multipliers = 1, 0
        for r in stack:
            if r.multiplier is not None:
                multiplier *= r.multiplier
                multipliers += 1
        return cls(
            discount=sum(r.discount for r in stack),
            replacing=max(replacing) if replacing else None,
            multiplier=multiplier,
            multipliers=multipliers,
            per_unit=sum(r.per_unit for r in stack),
            bonuses=tuple((r.bonus, r.code) for r in stack if r.bonus is not None),
        )

    def terms(self, base: LineBase, extra: CompiledRule | None = None) -> LineTerms:
        """The line's terms under the stack (and `extra` on top): the one place that says how
        discounts add up (at most 100 %), which earn rate replaces the mode's, and how
        multipliers multiply it."""
        discount = 0
        if "discount" not in base.excluded:
            added = extra.discount if extra is not None else 0
            discount = min(HUNDRED, base.discount + self.discount + added)
        if "earn" in base.excluded:
            return LineTerms(discount, 0, 0, 0)
        replacing = self.replacing
        multiplier, multipliers, per_unit = self.multiplier, self.multipliers, self.per_unit
        if extra is not None:
            if extra.earn_percent is not None:
                replacing = max(replacing or 0, extra.earn_percent)
            if extra.multiplier is not None:
                multiplier *= extra.multiplier
                multipliers += 1
            per_unit += extra.per_unit
        rate = (base.earn_percent if replacing is None else replacing) * multiplier
        if base.multiplier is not None:
            rate *= base.multiplier
            multipliers += 1
        return LineTerms(discount, rate, multipliers, per_unit)


def bonus_hits(plans: Sequence[LinePlan]) -> dict[str, int]:
    """How many lines each bonus rule matches: its worth on one line is its points over that."""
    hits: dict[str, int] = {}
    for plan in plans:
        for code in plan.bonus_codes:
            hits[code] = hits.get(code, 0) + 1
    return hits


def discounts(amounts: Sequence[int], line_terms: Sequence[LineTerms]) -> list[int]:
    return [percent_of(a, t.discount) for a, t in zip(amounts, line_terms, strict=True)]


VoucherParts = list[list[tuple[VoucherTerms, int]]]  # per line: (voucher, kopecks off)


def voucher_discounts(
    vouchers: Sequence[VoucherTerms],
    lines: Sequence[Line],
    after_discount: Sequence[int],
    excluded: Sequence[frozenset[Action]],
) -> tuple[list[int], VoucherParts]:
    """Kopecks each voucher takes off each line, after the rules' discounts and in the order
    given: a free product is one unit of its SKU (the first such line), a fixed discount is
    spread over the lines by what is left of them, a percent discount takes its share of its
    category's lines; a gift takes nothing off. Lines excluded from discounts (tobacco: coupons
    are discounts too) take no voucher. A voucher with nothing to act on is refused."""
    extra = [0] * len(lines)
    parts: VoucherParts = [[] for _ in lines]
    for voucher in vouchers:
        room = [
            0 if "discount" in ex else left - e
            for left, e, ex in zip(after_discount, extra, excluded, strict=True)
        ]
        take: dict[int, int] = {}
        if voucher.kind == "free_product":
            found = next(
                (i for i, ln in enumerate(lines) if ln.sku == voucher.sku and room[i] > 0), None
            )
            if found is not None:
                take[found] = min(lines[found].price, room[found])
        elif voucher.kind == "percent_discount":
            share = scaled(voucher.percent)
            for i, ln in enumerate(lines):
                if ln.category == voucher.category and percent_of(room[i], share):
                    take[i] = percent_of(room[i], share)
        elif voucher.kind == "fixed_discount":
            total = min(voucher.amount, sum(room))
            if total:
                take = {i: part for i, part in enumerate(spread(total, room)) if part}
        if not take and voucher.kind != "gift":
            raise VoucherNotApplicable(
                f"voucher {voucher.code} applies to nothing on this receipt", voucher=voucher.code
            )
        for i, kopecks in take.items():
            extra[i] += kopecks
            parts[i].append((voucher, kopecks))
    return extra, parts


@dataclass(frozen=True)
class Redemption:
    max_redeemable: int
    share_limit: int
    lines_limit: int
    caps: list[int]  # points each line can take


def redemption_limits(
    after_discount: Sequence[int],
    excluded: Sequence[frozenset[Action]],
    program: CompiledProgram,
    available: int,
    redeem_max: int | None = None,
) -> Redemption:
    """At most redeem_max_percent of what can be paid with points (the program's, or
    `redeem_max`, scaled, for the member's tier), whole point values per line."""
    point_value = program.program.point_value
    payable = [0 if "redeem" in ex else a for a, ex in zip(after_discount, excluded, strict=True)]
    caps = [a // point_value for a in payable]
    share = program.redeem_max if redeem_max is None else redeem_max
    share_limit = percent_of(sum(payable), share) // point_value
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
    most = max((t.multipliers for t in line_terms), default=0)
    denominator = SCALE ** (1 + most) * 100 * point_value
    numerators = [
        p * t.rate * SCALE ** (most - t.multipliers)
        for p, t in zip(payables, line_terms, strict=True)
    ]
    percent_points = apportion(numerators, denominator, sum(numerators) // denominator)
    per_unit = [
        int(q * t.per_unit) if t.per_unit else 0
        for q, t in zip(quantities, line_terms, strict=True)
    ]
    return percent_points, per_unit


def bonuses(
    rules: Sequence[CompiledRule], applied: Sequence[Sequence[CompiledRule]]
) -> list[tuple[CompiledRule, list[bool]]]:
    """The bonus rules that applied on at least one line, with the lines they applied on."""
    chosen = []
    for rule in rules:
        if rule.bonus is not None:
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
