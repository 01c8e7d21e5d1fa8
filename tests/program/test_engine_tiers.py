"""Tiers in the engine: what a member's tier gives on a receipt, when a purchase reaches a higher
one, and what the receipt says about it. No database (see test_engine_modes.py for how to run without it)."""

from dataclasses import replace
from decimal import Decimal

from django.utils import translation

from kopilka.program.engine import MemberState, Program, Then, Tier, TierReached
from kopilka.program.engine.document import DocumentError, program_from_document
from tests.program.test_engine_modes import (
    COFFEE_240,
    line,
    on,
    price,
    rule,
    texts,
    x,
)

D = Decimal
SILVER = Tier("silver", "Серебро", 1_000_000, earn_multiplier=D("1.5"), redeem_max_percent=D(50))
GOLD = Tier("gold", "Золото", 3_000_000, earn_multiplier=D(2), discount_percent=D(10))
TIERED = Program(tiers=(SILVER, GOLD))


def member(tier: str = "", window_spend: int = 0, available: int = 0) -> MemberState:
    return MemberState(1, available, 0, tier=tier, window_spend=window_spend)


def test_the_tier_multiplies_every_earn_rate_but_not_fixed_points() -> None:
    program = replace(
        TIERED,
        rules=(
            rule("morning", x("2"), on("coffee")),
            rule("beans", Then(points_per_unit=7), on("coffee")),
        ),
    )
    q = price([COFFEE_240, line(10000, "bakery")], program, member("silver"))
    # coffee: 5 % × 2 × 1.5 of 240 ₽ = 36, plus 7 per unit (not multiplied); bakery: 5 % × 1.5
    assert [ln.earn_points for ln in q.lines] == [36 + 7, 7]
    assert texts(q.lines[0].reasons) == [
        "5% base + ×2 «morning» + ×1.5 for the «Серебро» tier + 7 points «beans» = 43 points"
    ]
    assert texts(q.lines[1].reasons) == ["5% base + ×1.5 for the «Серебро» tier = 7 points"]


def test_the_tier_discount_adds_to_the_card_and_skips_excluded_lines() -> None:
    program = replace(TIERED, mode="discount", discount_percent=D(5))
    q = price([COFFEE_240, line(10000, "tobacco")], program, member("gold"))
    assert [ln.discount for ln in q.lines] == [3600, 0]  # 5 % + 10 % of 240 ₽; tobacco none
    assert texts(q.lines[0].reasons) == [
        "Discount 5% card discount + 10% for the «Золото» tier = 36.00 ₽"
    ]


def test_the_tier_redeem_cap_replaces_the_programs() -> None:
    q = price([line(100000)], TIERED, member("silver", available=1000), "max")
    assert q.max_redeemable == 500  # 50 % of 1,000 ₽, not the program's 30 %
    assert "At most 50% of a receipt can be paid with points: up to 500 points here." in texts(
        q.reasons
    )


def test_a_purchase_reaching_a_tier_raises_it_and_is_priced_at_the_old_one() -> None:
    q = price([line(400_000)], TIERED, member("", window_spend=600_000))
    assert q.earn_points == 200  # 5 % of 4,000 ₽: the tier's ×1.5 from the next purchase
    (reached,) = [e for e in q.effects if isinstance(e, TierReached)]
    assert reached == TierReached(
        tier="silver",
        name="Серебро",
        previous="",
        spend=1_000_000,
        qualify_spend=1_000_000,
        window_days=365,
    )
    assert texts(q.reasons)[-2:] == [
        "This purchase takes you to the «Серебро» tier. Its terms apply from your next purchase.",
        "20000.00 ₽ more to the «Золото» tier.",
    ]


def test_a_tier_is_never_lowered_by_a_purchase_and_a_jump_goes_straight_up() -> None:
    # a tier set by staff above the spend stays, and says how far the next one is
    q = price([line(1000)], TIERED, member("gold", window_spend=0))
    assert not any(isinstance(e, TierReached) for e in q.effects)
    assert texts(q.reasons)[-1] != ""
    assert all("more to" not in t for t in texts(q.reasons))  # gold is the top
    # from no tier to gold in one purchase
    q = price([line(3_000_000)], TIERED, member("", window_spend=0))
    assert [e.tier for e in q.effects if isinstance(e, TierReached)] == ["gold"]


def test_a_tier_the_version_no_longer_has_prices_as_no_tier() -> None:
    q = price([COFFEE_240], TIERED, member("platinum"))
    assert q.earn_points == 12


def test_no_tiers_no_tier_reasons() -> None:
    q = price([COFFEE_240], Program(), member("silver"))
    assert q.earn_points == 12
    assert all("tier" not in r.code for r in q.reasons)


def test_tiers_in_a_document_are_checked() -> None:
    def problems(tiers: object) -> list[tuple[str, str]]:
        with translation.override("en"):
            try:
                program_from_document({"tiers": tiers})
            except DocumentError as error:
                return error.problems
        return []

    good = {"code": "silver", "name": "Серебро", "qualify_spend": "1000.00"}
    assert problems([good]) == []
    assert problems([good, {**good}]) == [
        ("tiers[1].code", "is the code of an earlier tier"),
        ("tiers[1].qualify_spend", "must be greater than the previous tier’s (1000.00)"),
    ]
    assert problems([{**good, "qualify_spend": "0"}]) == [
        ("tiers[0].qualify_spend", "must be greater than 0")
    ]
    assert problems([{**good, "earn_multiplier": "0"}]) == [
        ("tiers[0].earn_multiplier", "must be greater than 0")
    ]
    assert problems([{**good, "privileges": ["a"] * 2}]) == [
        ("tiers[0].privileges[1]", "is listed twice")
    ]
    assert problems([{**good, "perks": []}])[0][0] == "tiers[0].perks"
    assert problems([{"code": "x"}]) == [
        ("tiers[0].name", "is required"),
        ("tiers[0].qualify_spend", "is required"),
    ]
