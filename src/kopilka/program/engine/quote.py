"""`quote`: a receipt, a member's state and a program version in; figures, reasons, effects out."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from kopilka.core.money import format_rubles
from kopilka.program.engine import stages
from kopilka.program.engine.arithmetic import decimal_text, line_amount
from kopilka.program.engine.effects import Effect, Grant, RuleUse, Spend
from kopilka.program.engine.errors import InsufficientPoints, NoMemberToRedeem, RedeemLimitExceeded
from kopilka.program.engine.reasons import Params, Reason
from kopilka.program.engine.values import (
    LAW_EXCLUDED,
    DiscountLevel,
    MemberState,
    Program,
    Receipt,
    Rule,
)

Redeem = int | Literal["max"]


@dataclass(frozen=True)
class LineQuote:
    sku: str
    amount: int  # kopecks = round_half_up(price × quantity)
    discount: int  # kopecks off the amount
    redeem_points: int
    payable: int  # amount - discount - points × point value, never negative
    earn_points: int
    rules: tuple[str, ...]  # codes of the rules that shaped this line
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Quote:
    lines: tuple[LineQuote, ...]
    amount: int
    discount: int
    redeem_points: int
    payable: int
    earn_points: int
    max_redeemable: int
    available_after: int
    pending_after: int
    reasons: tuple[Reason, ...]
    effects: tuple[Effect, ...]
    program_version: int
    point_value: int

    def explanation(self, language: str | None = None) -> list[str]:
        return [r.render(language) for r in self.reasons]


def lot_dates(at: datetime, time_zone: str, program: Program) -> tuple[datetime, datetime]:
    """When points earned at `at` become available and when they expire: business-day
    boundaries in the store's zone, valid through the whole last day."""
    zone = ZoneInfo(time_zone)
    day = at.astimezone(zone).date()

    def midnight(days: int) -> datetime:
        return datetime.combine(day + timedelta(days=days), time.min, tzinfo=zone)

    available_at = at if program.pending_days == 0 else midnight(program.pending_days)
    return available_at, midnight(program.expiry_days + 1)


def _base(program: Program, member: MemberState) -> tuple[Decimal, Params | None]:
    """The mode's own discount % and its reason part."""
    if program.mode == "discount" and program.discount_percent:
        return program.discount_percent, {
            "kind": "mode",
            "percent": decimal_text(program.discount_percent),
        }
    if program.mode == "accumulating_discount":
        level = discount_level(program, member.spend)
        if level:
            return level, {"kind": "level", "percent": decimal_text(level)}
    return Decimal(0), None


def discount_level(program: Program, spend: int) -> Decimal:
    """The accumulating discount % for a cumulative spend: the highest level reached."""
    reached = [lv.percent for lv in program.discount_levels if lv.from_spend <= spend]
    return reached[-1] if reached else Decimal(0)


def next_discount_level(program: Program, spend: int) -> DiscountLevel | None:
    """The first accumulating discount level not yet reached, if any."""
    return next((lv for lv in program.discount_levels if lv.from_spend > spend), None)


def _redeem_points(redeem: Redeem, member: MemberState | None, max_redeemable: int) -> int:
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


def _named(rule: Rule, **figures: object) -> Params:
    return {"rule": rule.code, "name": rule.name, **figures}


def quote(
    receipt: Receipt, member: MemberState | None, program: Program, redeem: Redeem = 0
) -> Quote:
    """Price a receipt: discounts, what points can pay, what is paid, what is earned, and why.

    Raises QuoteError subclasses for a redeem the member or the program does not allow.
    """
    lines = receipt.lines
    n = len(lines)
    amounts = [line_amount(line) for line in lines]
    excluded = stages.excluded_actions(program, lines)
    zero = [0] * n
    if member is None:
        _redeem_points(redeem, None, 0)
        reasons: tuple[Reason, ...] = (Reason("no_member", {"mode": program.mode}),)
        return Quote(
            lines=tuple(
                LineQuote(line.sku, a, 0, 0, a, 0, (), ())
                for line, a in zip(lines, amounts, strict=True)
            ),
            amount=sum(amounts),
            discount=0,
            redeem_points=0,
            payable=sum(amounts),
            earn_points=0,
            max_redeemable=0,
            available_after=0,
            pending_after=0,
            reasons=reasons,
            effects=(),
            program_version=program.version,
            point_value=program.point_value,
        )

    # 1-2. which rules hold for the receipt, then which apply on each line
    rules = stages.eligible_rules(receipt, member, program, amounts, excluded)
    shares = stages.bonus_shares(rules, lines, excluded)
    base_discount, base_part = _base(program, member)
    base_earn = program.earn_percent if program.mode == "points" else Decimal(0)
    bases = [
        stages.LineBase(a, base_discount, base_earn, ex)
        for a, ex in zip(amounts, excluded, strict=True)
    ]
    applied = [
        stages.combine(
            base,
            [r for r in rules if stages.line_matches(r, line, base.excluded)],
            program.point_value,
            shares,
        )
        for base, line in zip(bases, lines, strict=True)
    ]
    line_terms = [stages.terms(base, rs) for base, rs in zip(bases, applied, strict=True)]

    # 3. discounts
    line_discount = stages.discounts(amounts, line_terms)
    after_discount = [a - d for a, d in zip(amounts, line_discount, strict=True)]

    # 4. redemption
    limits = stages.redemption_limits(after_discount, excluded, program, member.available)
    points = _redeem_points(redeem, member, limits.max_redeemable)
    line_redeem = stages.redeem_spread(points, after_discount, limits)
    payables = [
        a - r * program.point_value for a, r in zip(after_discount, line_redeem, strict=True)
    ]

    # 5. earning on the lines
    percent_points, per_unit = stages.earning(
        payables, line_terms, [line.quantity for line in lines], program.point_value
    )

    # 6. receipt bonuses
    bonus_rules = stages.bonuses(rules, applied)
    line_bonus = [list(zero) for _ in bonus_rules]
    for k, (rule, hits) in enumerate(bonus_rules):
        line_bonus[k] = stages.bonus_spread(rule.then.bonus_points or 0, hits, payables)

    line_quotes = []
    for i, line in enumerate(lines):
        earned = percent_points[i] + per_unit[i] + sum(b[i] for b in line_bonus)
        codes = [r.code for r in applied[i]] + [
            r.code for (r, _h), b in zip(bonus_rules, line_bonus, strict=True) if b[i]
        ]
        line_quotes.append(
            LineQuote(
                sku=line.sku,
                amount=amounts[i],
                discount=line_discount[i],
                redeem_points=line_redeem[i],
                payable=payables[i],
                earn_points=earned,
                rules=tuple(dict.fromkeys(codes)),
                reasons=_line_reasons(
                    i,
                    line.category,
                    excluded[i],
                    base_part,
                    base_earn,
                    applied[i],
                    line_discount[i],
                    line_redeem[i],
                    program,
                    percent_points[i],
                    per_unit[i],
                    earned,
                    bonus_rules,
                    line_bonus,
                ),
            )
        )

    earn = sum(q.earn_points for q in line_quotes)
    discount = sum(line_discount)
    payable = sum(payables)
    effects: list[Effect] = []
    if points:
        effects.append(Spend(points))
    if earn:
        available_at, expires_at = lot_dates(receipt.at, receipt.time_zone, program)
        effects.append(Grant(earn, available_at, expires_at))
    day = receipt.at.astimezone(ZoneInfo(receipt.time_zone)).date()
    used = {code for q in line_quotes for code in q.rules}
    effects.extend(RuleUse(r.code, day) for r in rules if r.code in used)

    pending = program.pending_days > 0
    available_after = member.available - points + (0 if pending else earn)
    pending_after = member.pending + (earn if pending else 0)
    reasons = _receipt_reasons(
        program,
        member,
        limits,
        points,
        discount,
        payable,
        earn,
        line_terms,
        per_unit,
        bonus_rules,
        available_after,
        pending_after,
    )
    return Quote(
        lines=tuple(line_quotes),
        amount=sum(amounts),
        discount=discount,
        redeem_points=points,
        payable=payable,
        earn_points=earn,
        max_redeemable=limits.max_redeemable,
        available_after=available_after,
        pending_after=pending_after,
        reasons=reasons,
        effects=tuple(effects),
        program_version=program.version,
        point_value=program.point_value,
    )


def _line_reasons(
    i: int,
    category: str,
    excluded: frozenset[str],
    base_part: Params | None,
    base_earn: Decimal,
    applied: tuple[Rule, ...],
    discount: int,
    redeemed: int,
    program: Program,
    percent_points: int,
    per_unit: int,
    earned: int,
    bonus_rules: list[tuple[Rule, list[bool]]],
    line_bonus: list[list[int]],
) -> tuple[Reason, ...]:
    reasons = []
    if excluded:
        law = category in LAW_EXCLUDED and excluded <= LAW_EXCLUDED[category]
        reasons.append(
            Reason(
                "excluded",
                {"category": category, "actions": sorted(excluded), "law": law},
            )
        )
    if discount:
        parts = [base_part] if base_part else []
        parts += [
            {"kind": "percent", **_named(r, percent=decimal_text(r.then.discount_percent))}
            for r in applied
            if r.then.discount_percent
        ]
        reasons.append(Reason("line_discount", {"money": format_rubles(discount), "parts": parts}))
    if redeemed:
        money = format_rubles(redeemed * program.point_value)
        reasons.append(Reason("line_redeem", {"points": redeemed, "money": money}))
    if "earn" not in excluded:
        earn_parts: list[Params] = []
        replacing = [r for r in applied if r.then.earn_percent is not None]
        if replacing:
            top = max(replacing, key=lambda r: r.then.earn_percent or 0)
            percent = decimal_text(top.then.earn_percent or Decimal(0))
            earn_parts.append({"kind": "percent", **_named(top, percent=percent)})
        elif base_earn:
            earn_parts.append({"kind": "base", "percent": decimal_text(base_earn)})
        if earn_parts:
            earn_parts += [
                {"kind": "multiplier", **_named(r, multiplier=decimal_text(r.then.earn_multiplier))}
                for r in applied
                if r.then.earn_multiplier is not None
            ]
        earn_parts += [
            {"kind": "per_unit", **_named(r, points=r.then.points_per_unit)}
            for r in applied
            if r.then.points_per_unit
        ]
        earn_parts += [
            {"kind": "bonus", **_named(rule, points=b[i])}
            for (rule, _hits), b in zip(bonus_rules, line_bonus, strict=True)
            if b[i]
        ]
        if earn_parts:
            reasons.append(Reason("line_earn", {"points": earned, "parts": earn_parts}))
    return tuple(reasons)


def _receipt_reasons(
    program: Program,
    member: MemberState,
    limits: stages.Redemption,
    points: int,
    discount: int,
    payable: int,
    earn: int,
    line_terms: list[stages.LineTerms],
    per_unit: list[int],
    bonus_rules: list[tuple[Rule, list[bool]]],
    available_after: int,
    pending_after: int,
) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if discount:
        reasons.append(Reason("discount_total", {"money": format_rubles(discount)}))
    if points:
        money = format_rubles(points * program.point_value)
        reasons.append(Reason("redeem", {"points": points, "money": money}))
    if limits.max_redeemable < member.available:
        limit = "share" if limits.share_limit <= limits.lines_limit else "lines"
        share = decimal_text(program.redeem_max_percent)
        reasons.append(
            Reason("redeem_cap", {"points": limits.max_redeemable, "limit": limit, "share": share})
        )
    rates = {t.earn_percent for t in line_terms}
    uniform = (
        len(rates) == 1 and not any(per_unit) and not bonus_rules and program.point_value == 100
    )
    rate = decimal_text(rates.pop()) if uniform else None
    if earn or (rate is not None and rate != "0"):
        reasons.append(
            Reason("earn", {"points": earn, "rate": rate, "paid": format_rubles(payable)})
        )
    for rule, _hits in bonus_rules:
        reasons.append(Reason("bonus", _named(rule, points=rule.then.bonus_points)))
    if earn and program.pending_days:
        reasons.append(Reason("pending", {"days": program.pending_days}))
    if earn and program.expiry_days:
        reasons.append(Reason("expiry", {"days": program.expiry_days}))
    reasons.append(
        Reason("balance_after", {"available": available_after, "pending": pending_after})
    )
    return tuple(reasons)
