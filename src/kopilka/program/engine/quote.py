"""`quote`: a receipt, a member's state and a program version in; figures, reasons, effects out."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from kopilka.core.money import format_rubles
from kopilka.program.engine import stages
from kopilka.program.engine.arithmetic import decimal_text, line_amount
from kopilka.program.engine.effects import (
    Effect,
    Grant,
    RuleUse,
    Spend,
    TierReached,
    VoucherUse,
)
from kopilka.program.engine.errors import InsufficientPoints, NoMemberToRedeem, RedeemLimitExceeded
from kopilka.program.engine.reasons import Params, Reason
from kopilka.program.engine.values import (
    LAW_EXCLUDED,
    DiscountLevel,
    MemberState,
    Program,
    Receipt,
    Rule,
    Tier,
    VoucherTerms,
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


def _base(program: Program, member: MemberState, tier: Tier | None) -> tuple[int, list[Params]]:
    """The mode's own discount and the tier's (scaled %), and their reason parts."""
    discount, parts = 0, []
    if program.mode == "discount" and program.discount_percent:
        parts.append({"kind": "mode", "percent": decimal_text(program.discount_percent)})
        discount = stages.scaled(program.discount_percent)
    if program.mode == "accumulating_discount":
        level = discount_level(program, member.spend)
        if level:
            parts.append({"kind": "level", "percent": decimal_text(level)})
            discount = stages.scaled(level)
    if tier is not None and tier.discount_percent:
        percent = decimal_text(tier.discount_percent)
        parts.append({"kind": "tier", "percent": percent, "tier": tier.name})
        discount += stages.scaled(tier.discount_percent)
    return discount, parts


def member_tier(program: Program, member: MemberState) -> Tier | None:
    """The member's tier under this version (a tier the version no longer has: none)."""
    return program.tier(member.tier) if member.tier else None


def tier_reached(program: Program, member: MemberState, spend: int) -> tuple[Tier | None, int]:
    """The higher tier a purchase of `spend` takes the member to, if any, and the window's
    spend with it. A tier is never lowered here (only a review lowers it)."""
    after = member.window_spend + spend
    reached = program.tier_for(after)
    if reached is None:
        return None, after
    current = member_tier(program, member)
    if current is not None and reached.qualify_spend <= current.qualify_spend:
        return None, after
    return reached, after


def next_tier(program: Program, tier: Tier | None) -> Tier | None:
    """The tier above `tier` (the first tier when there is none)."""
    above = [t for t in program.tiers if tier is None or t.qualify_spend > tier.qualify_spend]
    return above[0] if above else None


def discount_level(program: Program, spend: int) -> Decimal:
    """The accumulating discount % for a cumulative spend: the highest level reached."""
    reached = [lv for lv in program.discount_levels if lv.from_spend <= spend]
    return max(reached, key=lambda lv: lv.from_spend).percent if reached else Decimal(0)


def next_discount_level(program: Program, spend: int) -> DiscountLevel | None:
    """The first accumulating discount level not yet reached, if any."""
    ahead = [lv for lv in program.discount_levels if lv.from_spend > spend]
    return min(ahead, key=lambda lv: lv.from_spend) if ahead else None


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


SCALE_DIGITS = len(str(stages.SCALE)) - 1


def quote(
    receipt: Receipt,
    member: MemberState | None,
    program: Program,
    redeem: Redeem = 0,
    *,
    explain: bool = True,
) -> Quote:
    """Price a receipt: discounts, what points can pay, what is paid, what is earned, and why.

    Raises QuoteError subclasses for a redeem the member or the program does not allow.
    `explain=False` leaves the reasons out (every figure and effect is the same): for the
    what-if replay, which adds figures up and reads no reason.
    """
    lines = receipt.lines
    amounts = [line_amount(line) for line in lines]
    if member is None:
        _redeem_points(redeem, None, 0)
        reasons: tuple[Reason, ...] = (
            (Reason("no_member", {"mode": program.mode}),) if explain else ()
        )
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
    compiled = stages.compiled(program)
    point_value = program.point_value
    excluded = stages.excluded_actions(program, lines)

    # 1-2. which rules hold for the receipt, then which apply on each line
    rules = stages.eligible_rules(receipt, member, compiled, amounts, excluded)
    tier = member_tier(program, member)
    base_discount, base_parts = _base(program, member, tier)
    base_earn = stages.scaled(program.earn_percent) if program.mode == "points" else 0
    tier_multiplier = (
        stages.scaled(tier.earn_multiplier) if tier and tier.earn_multiplier != 1 else None
    )
    holding = tuple(rules)
    bases = {
        ex: stages.LineBase(base_discount, base_earn, ex, tier_multiplier) for ex in set(excluded)
    }
    plans = [
        stages.line_plan(compiled, holding, line, bases[ex])
        for line, ex in zip(lines, excluded, strict=True)
    ]
    hits = stages.bonus_hits(plans)
    outcomes = [
        stages.choose(plan, a, line.quantity, point_value, hits)
        for plan, a, line in zip(plans, amounts, lines, strict=True)
    ]
    applied = [o.applied for o in outcomes]
    line_terms = [o.terms for o in outcomes]

    # 3. discounts: the rules', then the vouchers' on what is left
    rule_discount = line_discount = stages.discounts(amounts, line_terms)
    after_discount = [a - d for a, d in zip(amounts, rule_discount, strict=True)]
    voucher_parts: stages.VoucherParts = [[] for _line in lines]
    if receipt.vouchers:  # most receipts have none: no work for them
        voucher_off, voucher_parts = stages.voucher_discounts(
            receipt.vouchers, lines, after_discount, excluded
        )
        line_discount = [d + v for d, v in zip(rule_discount, voucher_off, strict=True)]
        after_discount = [a - v for a, v in zip(after_discount, voucher_off, strict=True)]

    # 4. redemption
    redeem_max = tier.redeem_max_percent if tier else None
    limits = stages.redemption_limits(
        after_discount,
        excluded,
        compiled,
        member.available,
        None if redeem_max is None else stages.scaled(redeem_max),
    )
    points = _redeem_points(redeem, member, limits.max_redeemable)
    line_redeem = stages.redeem_spread(points, after_discount, limits)
    payables = [a - r * point_value for a, r in zip(after_discount, line_redeem, strict=True)]

    # 5. earning on the lines
    percent_points, per_unit = stages.earning(
        payables, line_terms, [line.quantity for line in lines], point_value
    )

    # 6. receipt bonuses
    bonus_rules = stages.bonuses(rules, applied)
    line_bonus = [
        stages.bonus_spread(rule.bonus or 0, on_lines, payables) for rule, on_lines in bonus_rules
    ]

    line_reasons = (
        _Texts(compiled, base_parts, base_earn, tier if tier_multiplier else None).line
        if explain
        else _no_reasons
    )
    line_quotes = []
    for i, line in enumerate(lines):
        bonus_parts = [
            (rule.rule, b[i])
            for (rule, _on), b in zip(bonus_rules, line_bonus, strict=True)
            if b[i]
        ]
        earned = percent_points[i] + per_unit[i] + sum(points for _r, points in bonus_parts)
        line_quotes.append(
            LineQuote(
                sku=line.sku,
                amount=amounts[i],
                discount=line_discount[i],
                redeem_points=line_redeem[i],
                payable=payables[i],
                earn_points=earned,
                rules=tuple(r.code for r in applied[i]),
                reasons=line_reasons(
                    line.category,
                    excluded[i],
                    applied[i],
                    line.quantity,
                    rule_discount[i],
                    voucher_parts[i],
                    line_redeem[i],
                    earned,
                    bonus_parts,
                ),
            )
        )

    earn = sum(q.earn_points for q in line_quotes)
    discount = sum(line_discount)
    payable = sum(payables)
    effects: list[Effect] = []
    if receipt.vouchers:
        taken_off: dict[str, int] = {}  # per voucher
        for on_line in voucher_parts:
            for voucher, kopecks in on_line:
                taken_off[voucher.code] = taken_off.get(voucher.code, 0) + kopecks
        effects.extend(VoucherUse(v.code, taken_off.get(v.code, 0)) for v in receipt.vouchers)
    if points:
        effects.append(Spend(points))
    if earn:
        available_at, expires_at = lot_dates(receipt.at, receipt.time_zone, program)
        effects.append(Grant(earn, available_at, expires_at))
    day = receipt.at.astimezone(ZoneInfo(receipt.time_zone)).date()
    # a use is recorded only where a limit will count it
    used = {r.code for on_line in applied for r in on_line if r.limited}
    effects.extend(RuleUse(r.code, day) for r in rules if r.code in used)
    reached, window_after = (
        tier_reached(program, member, sum(amounts) - discount) if program.tiers else (None, 0)
    )
    if reached is not None:
        effects.append(
            TierReached(
                tier=reached.code,
                name=reached.name,
                previous=member.tier,
                spend=window_after,
                qualify_spend=reached.qualify_spend,
                window_days=program.tier_window_days,
            )
        )

    pending = program.pending_days > 0
    available_after = member.available - points + (0 if pending else earn)
    pending_after = member.pending + (earn if pending else 0)
    if not explain:
        reasons = ()
    else:
        reasons = _receipt_reasons(
            program,
            member,
            redeem_max,
            limits,
            points,
            discount,
            # what the earn rate applies to: the money paid for lines that earn
            sum(p for p, ex in zip(payables, excluded, strict=True) if "earn" not in ex),
            earn,
            [t for t, ex in zip(line_terms, excluded, strict=True) if "earn" not in ex],
            per_unit,
            [rule.rule for rule, _on in bonus_rules],
            available_after,
            pending_after,
        )
        if program.tiers:
            reasons += _tier_reasons(program, tier, reached, window_after)
        gifts = [v for v in receipt.vouchers if v.kind == "gift"]
        reasons += tuple(Reason("voucher_gift", {"name": v.name}) for v in gifts)
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
        point_value=point_value,
    )


def _no_reasons(*_figures: object) -> tuple[Reason, ...]:
    return ()


class _Texts:
    """The reasons of each line. What a set of rules says on a line is the same for every line
    it applies to, so its parts are built once per quote; only the figures differ."""

    def __init__(
        self,
        program: stages.CompiledProgram,
        base_parts: list[Params],
        base_earn: int,
        tier: Tier | None,
    ) -> None:
        self.program, self.base_parts, self.base_earn = program.program, base_parts, base_earn
        self.tier = tier  # when its multiplier shapes the earn rate
        self._parts = program.parts
        self._base_key = (
            tuple(tuple(part.values()) for part in base_parts),
            tier.code if tier else None,
        )

    def _rule_parts(
        self, excluded: frozenset[str], applied: tuple[stages.CompiledRule, ...]
    ) -> tuple[list[Params], list[Params]]:
        key = (excluded, applied, self._base_key)
        if key in self._parts:
            return self._parts[key]
        if len(self._parts) >= 10_000:
            self._parts.clear()
        rules = [r.rule for r in applied]
        discount_parts = list(self.base_parts)
        discount_parts += [
            {"kind": "percent", **_named(r, percent=decimal_text(r.then.discount_percent))}
            for r in rules
            if r.then.discount_percent
        ]
        earn_parts: list[Params] = []
        if "earn" not in excluded:
            replacing = [r for r in rules if r.then.earn_percent is not None]
            if replacing:
                top = max(replacing, key=lambda r: r.then.earn_percent or 0)
                percent = decimal_text(top.then.earn_percent or Decimal(0))
                earn_parts.append({"kind": "percent", **_named(top, percent=percent)})
            elif self.base_earn:
                percent = decimal_text(self.base_earn, SCALE_DIGITS)
                earn_parts.append({"kind": "base", "percent": percent})
            if earn_parts:
                earn_parts += [
                    {
                        "kind": "multiplier",
                        **_named(r, multiplier=decimal_text(r.then.earn_multiplier)),
                    }
                    for r in rules
                    if r.then.earn_multiplier is not None
                ]
                if self.tier is not None:
                    multiplier = decimal_text(self.tier.earn_multiplier)
                    earn_parts.append(
                        {
                            "kind": "tier_multiplier",
                            "multiplier": multiplier,
                            "tier": self.tier.name,
                        }
                    )
        self._parts[key] = discount_parts, earn_parts
        return discount_parts, earn_parts

    def line(
        self,
        category: str,
        excluded: frozenset[str],
        applied: tuple[stages.CompiledRule, ...],
        quantity: Decimal,
        discount: int,
        vouchers: list[tuple[VoucherTerms, int]],
        redeemed: int,
        earned: int,
        bonus_parts: list[tuple[Rule, int]],
    ) -> tuple[Reason, ...]:
        reasons = []
        discount_parts, earn_parts = self._rule_parts(excluded, applied)
        if excluded:
            law = category in LAW_EXCLUDED and excluded <= LAW_EXCLUDED[category]
            params = {"category": category, "actions": sorted(excluded), "law": law}
            reasons.append(Reason("excluded", params))
        if discount:
            params = {"money": format_rubles(discount), "parts": discount_parts}
            reasons.append(Reason("line_discount", params))
        for voucher, off in vouchers:
            params = {"name": voucher.name, "money": format_rubles(off)}
            reasons.append(Reason("line_voucher", params))
        if redeemed:
            money = format_rubles(redeemed * self.program.point_value)
            reasons.append(Reason("line_redeem", {"points": redeemed, "money": money}))
        if "earn" not in excluded:
            parts = earn_parts + [
                {"kind": "per_unit", **_named(r.rule, points=int(quantity * r.per_unit))}
                for r in applied
                if r.per_unit
            ]
            parts += [
                {"kind": "bonus", **_named(rule, points=points)} for rule, points in bonus_parts
            ]
            if parts:
                reasons.append(Reason("line_earn", {"points": earned, "parts": parts}))
        return tuple(reasons)


def _receipt_reasons(
    program: Program,
    member: MemberState,
    redeem_max: Decimal | None,
    limits: stages.Redemption,
    points: int,
    discount: int,
    payable: int,
    earn: int,
    line_terms: list[stages.LineTerms],
    per_unit: list[int],
    bonus_rules: list[Rule],
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
        share = decimal_text(program.redeem_max_percent if redeem_max is None else redeem_max)
        reasons.append(
            Reason("redeem_cap", {"points": limits.max_redeemable, "limit": limit, "share": share})
        )
    most = max((t.multipliers for t in line_terms), default=0)
    rates = {t.rate * stages.SCALE ** (most - t.multipliers) for t in line_terms}
    uniform = (
        len(rates) == 1 and not any(per_unit) and not bonus_rules and program.point_value == 100
    )
    rate = decimal_text(rates.pop(), SCALE_DIGITS * (1 + most)) if uniform else None
    if earn or (rate is not None and rate != "0"):
        reasons.append(
            Reason("earn", {"points": earn, "rate": rate, "paid": format_rubles(payable)})
        )
    for rule in bonus_rules:
        reasons.append(Reason("bonus", _named(rule, points=rule.then.bonus_points)))
    if earn and program.pending_days:
        reasons.append(Reason("pending", {"days": program.pending_days}))
    if earn and program.expiry_days:
        reasons.append(Reason("expiry", {"days": program.expiry_days}))
    reasons.append(
        Reason("balance_after", {"available": available_after, "pending": pending_after})
    )
    return tuple(reasons)


def _tier_reasons(
    program: Program, tier: Tier | None, reached: Tier | None, window_after: int
) -> tuple[Reason, ...]:
    """The tier this purchase reached (its privileges apply from the next purchase), or how
    much more spend the next tier needs."""
    if reached is not None:
        params = {
            "tier": reached.name,
            "code": reached.code,
            "privileges": list(reached.privileges),
        }
        reasons = [Reason("tier_reached", params)]
        tier = reached
    else:
        reasons = []
    ahead = next_tier(program, tier)
    if ahead is not None:
        money = format_rubles(ahead.qualify_spend - window_after)
        params = {"tier": ahead.name, "code": ahead.code, "money": money}
        reasons.append(Reason("tier_next", params))
    return tuple(reasons)
