"""The engine's modes, conditions, effects, combinations, limits, exclusions, time zones and
reasons, each on a receipt small enough to check by hand.

No database: runs with or without pytest-django
(`pytest tests/program/test_engine*.py -p no:django --confcutdir=tests/program`). Russian
sentences are checked only under Django's own settings (i18n on); English ones always.
"""

import ast
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import translation

from kopilka.program.engine import (
    DiscountLevel,
    Grant,
    Limit,
    Line,
    MemberState,
    NoMemberToRedeem,
    Program,
    Quote,
    Receipt,
    Redeem,
    RedeemLimitExceeded,
    Rule,
    RuleUse,
    Spend,
    Then,
    When,
    discount_level,
    lot_dates,
    next_discount_level,
    quote,
)
from kopilka.program.engine import reasons as reasons_module
from kopilka.program.engine.document import program_from_document
from kopilka.program.engine.reasons import Reason

if not settings.configured:  # run without pytest-django: gettext only needs i18n switched off
    settings.configure(USE_I18N=False)

russian = pytest.mark.skipif(
    not settings.USE_I18N, reason="Russian texts need Django's settings (i18n on)"
)

D = Decimal
MOSCOW, VLADIVOSTOK = "Europe/Moscow", "Asia/Vladivostok"
MONDAY_10_MSK = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Moscow
MEMBER = MemberState(member_id=1, available=500, pending=0)
DEFAULT = Program()


def line(price: int, category: str = "grocery", *, sku: str | None = None, q: str = "1") -> Line:
    return Line(sku or category, sku or category, category, D(q), price)


ALWAYS = When()  # no conditions


def rule(code: str, then: Then, when: When = ALWAYS, **rest: Any) -> Rule:
    return Rule(code=code, name=rest.pop("name", code), then=then, when=when, **rest)


def x(multiplier: str) -> Then:
    return Then(earn_multiplier=D(multiplier))


def on(*categories: str) -> When:
    return When(categories=frozenset(categories))


def price(
    lines: list[Line],
    program: Program = DEFAULT,
    member: MemberState | None = MEMBER,
    redeem: Redeem = 0,
    *,
    at: datetime = MONDAY_10_MSK,
    zone: str = MOSCOW,
    store: str = "central",
) -> Quote:
    return quote(Receipt(store, at, zone, tuple(lines)), member, program, redeem)


def rules(*rs: Rule, **program: Any) -> Program:
    return Program(rules=rs, **program)


def texts(reasons: tuple[Reason, ...], language: str = "en") -> list[str]:
    with translation.override(language):
        return [r.render() for r in reasons]


COFFEE_240 = line(24000, "coffee")  # a 240.00 ₽ coffee: 12 points at 5 %
MORNING = rule("coffee-morning", x("2"), on("coffee"), name="Утренний кофе")


# --- modes ---------------------------------------------------------------------------------------


def test_points_mode_earns_the_base_percent_of_money_paid_as_point_value():
    # 5 % of 240.00 ₽ is 12.00 ₽: 12 points of 1 ₽, or 24 points of 0.50 ₽
    assert price([COFFEE_240]).earn_points == 12
    half = Program(point_value=50)
    assert price([COFFEE_240], half).earn_points == 24
    # a 0.50 ₽ point pays 0.50 ₽: 30 % of 240.00 ₽ is 72.00 ₽, 144 points
    q = price([COFFEE_240], half, redeem="max")
    assert (q.max_redeemable, q.redeem_points, q.payable) == (144, 144, 24000 - 7200)
    assert q.earn_points == 16  # 5 % of 168.00 ₽ = 8.40 ₽ = 16.8 points
    assert q.lines[0].reasons[0].params == {"points": 144, "money": "72.00"}


def test_points_mode_ignores_the_card_discount_percent():
    q = price([COFFEE_240], Program(discount_percent=D(10)))
    assert (q.discount, q.earn_points) == (0, 12)


def test_discount_card_discounts_every_line_that_allows_it_and_earns_nothing():
    program = Program(mode="discount", discount_percent=D(10), earn_percent=D(5))
    q = price([line(100000, sku="A"), line(99, sku="B"), line(50000, "tobacco")], program)
    assert [ln.discount for ln in q.lines] == [10000, 9, 0]  # 9.9 kopecks floors to 9
    assert [ln.payable for ln in q.lines] == [90000, 90, 50000]
    assert (q.discount, q.earn_points, q.payable) == (10009, 0, 140090)
    assert not any(isinstance(e, Grant) for e in q.effects)
    assert texts(q.lines[0].reasons) == ["Discount 10% card discount = 100.00 ₽"]
    assert "Discount on this receipt: 100.09 ₽." in texts(q.reasons)
    # points may still pay, on the discounted amount: 30 % of 900.90 ₽ without the tobacco
    assert q.max_redeemable == 270


def test_without_a_card_the_discount_card_gives_nothing():
    program = Program(mode="discount", discount_percent=D(10))
    q = price([line(100000)], program, None)
    assert (q.discount, q.payable, q.earn_points) == (0, 100000, 0)
    assert texts(q.reasons) == ["No member card: no discount and no points."]
    with pytest.raises(NoMemberToRedeem):
        price([line(100000)], program, None, redeem=1)


LEVELS = (
    DiscountLevel(0, D(3)),
    DiscountLevel(1_000_000, D(5)),  # from 10,000.00 ₽ spent
    DiscountLevel(5_000_000, D("7.5")),
)


@pytest.mark.parametrize(
    ("spend", "percent", "discount"),
    [(0, "3", 3000), (999_999, "3", 3000), (1_000_000, "5", 5000), (9_000_000, "7.5", 7500)],
)
def test_accumulating_discount_takes_the_highest_level_reached(spend, percent, discount):
    program = Program(mode="accumulating_discount", discount_levels=LEVELS)
    member = MemberState(1, available=0, pending=0, spend=spend)
    assert discount_level(program, spend) == D(percent)
    q = price([line(100000)], program, member)
    assert (q.discount, q.earn_points) == (discount, 0)
    money = f"{discount // 100}.00"
    assert texts(q.lines[0].reasons) == [f"Discount {percent}% for your total spend = {money} ₽"]


def test_accumulating_discount_below_the_first_level_gives_none():
    program = Program(mode="accumulating_discount", discount_levels=(DiscountLevel(100, D(5)),))
    assert discount_level(program, 99) == 0
    q = price([line(100000)], program, MemberState(1, 0, 0, spend=99))
    assert (q.discount, q.lines[0].reasons) == (0, ())


def test_the_next_level_is_the_first_not_yet_reached():
    program = Program(mode="accumulating_discount", discount_levels=LEVELS)
    assert next_discount_level(program, 0) == LEVELS[1]
    assert next_discount_level(program, 999_999) == LEVELS[1]
    assert next_discount_level(program, 1_000_000) == LEVELS[2]
    assert next_discount_level(program, 5_000_000) is None


def test_discount_levels_out_of_order_still_give_the_highest_reached():
    program = Program(
        mode="accumulating_discount", discount_levels=(LEVELS[1], LEVELS[0])
    )  # 5 % from 10,000 ₽, then 3 % from 0
    assert discount_level(program, 2_000_000) == D(5)


# --- exclusions ----------------------------------------------------------------------------------

LAW_TEXT = "Tobacco: by law (15-FZ art. 16) no points, no discounts and no paying with points."


def test_tobacco_gets_no_discount_no_points_paid_and_no_points_earned():
    program = rules(
        rule("all-x3", x("3")),
        rule("all-10off", Then(discount_percent=D(10))),
        mode="discount",
        discount_percent=D(5),
    )
    lines = [line(100000), line(100000, "tobacco"), line(100000, "nicotine")]
    q = price(lines, program, redeem="max")
    tobacco, nicotine = q.lines[1], q.lines[2]
    for excluded in (tobacco, nicotine):
        assert (excluded.discount, excluded.redeem_points, excluded.earn_points) == (0, 0, 0)
        assert excluded.payable == excluded.amount == 100000
    # the grocery line alone: 15 % off, then 30 % of the 850.00 ₽ left paid with points
    assert (q.lines[0].discount, q.max_redeemable) == (15000, 255)
    assert texts(tobacco.reasons) == [LAW_TEXT]
    assert texts(nicotine.reasons) == [LAW_TEXT.replace("Tobacco", "Nicotine products")]
    assert tobacco.reasons[0].params == {
        "category": "tobacco",
        "actions": ["discount", "earn", "redeem"],
        "law": True,
    }


def test_exclusions_by_choice_are_worded_as_the_programs():
    program = Program(
        excluded_categories={
            "alcohol": frozenset({"earn"}),
            "gift": frozenset({"redeem", "discount"}),
        }
    )
    q = price([line(100000, "alcohol"), line(100000, "gift")], program, redeem="max")
    alcohol, gift = q.lines
    assert (alcohol.earn_points, gift.earn_points) == (0, 50)
    assert gift.redeem_points == 0 and alcohol.redeem_points == 300
    assert texts(alcohol.reasons)[0] == "alcohol: no points under the program."
    assert texts(gift.reasons)[0] == "gift: no discounts, no paying with points under the program."


def test_a_program_without_exclusions_treats_tobacco_like_anything_else():
    q = price([line(100000, "tobacco")], Program(excluded_categories={}))
    assert q.earn_points == 50
    assert texts(q.lines[0].reasons) == ["5% base = 50 points"]


def test_excluded_lines_count_towards_no_minimum_receipt():
    big_receipt = rule("x2-from-300", x("2"), When(min_receipt=30000))
    program = rules(big_receipt)
    # 200 ₽ of coffee and 500 ₽ of cigarettes: only the 200 ₽ counts, under the 300 ₽ minimum
    q = price([line(20000, "coffee"), line(50000, "tobacco")], program)
    assert (q.earn_points, q.lines[0].rules) == (10, ())
    # exactly 300 ₽ that counts reaches it
    q = price([line(30000, "coffee"), line(50000, "tobacco")], program)
    assert (q.earn_points, q.lines[0].rules) == (30, ("x2-from-300",))


def test_a_tobacco_line_never_unlocks_or_takes_a_receipt_bonus():
    bonus = rule("visit", Then(bonus_points=20), name="За визит")
    q = price([line(50000, "tobacco")], rules(bonus))
    assert (q.earn_points, q.effects) == (0, ())
    q = price([line(50000, "tobacco"), line(1000, "coffee")], rules(bonus))
    assert [ln.earn_points for ln in q.lines] == [0, 20]


@pytest.mark.parametrize(
    ("lines", "program"),
    [
        (
            [line(50000, "tobacco")],
            rules(rule("x2-daily", x("2"), limit=Limit(per_member_per_day=1))),
        ),
        (
            [line(50000, "tobacco")],
            rules(
                rule("off-daily", Then(discount_percent=D(10)), limit=Limit(per_member_per_day=1))
            ),
        ),
        (
            [line(50000)],
            rules(
                rule("x2-daily", x("2"), limit=Limit(per_member_per_day=1)),
                mode="discount",
                discount_percent=D(5),
            ),
        ),
    ],
    ids=["multiplier-on-tobacco", "discount-on-tobacco", "multiplier-in-discount-mode"],
)
def test_a_rule_that_gives_a_line_nothing_is_not_used_up(lines, program):
    # once a day means once a day it gave something: a rule that cannot act on a line
    # (tobacco's discount, a multiplier where nothing is earned) neither matches nor is used up
    q = price(lines, program)
    assert q.earn_points == 0
    assert q.discount == price(lines, Program(**{**vars(program), "rules": ()})).discount
    assert q.lines[0].rules == ()
    assert not any(isinstance(e, RuleUse) for e in q.effects)


# --- conditions ----------------------------------------------------------------------------------


def applies(when: When, lines: list[Line] | None = None, **kw: Any) -> bool:
    """Whether a ×2 rule with these conditions doubled the first line's earning."""
    lines = lines or [COFFEE_240]
    q = price(lines, rules(rule("r", x("2"), when)), **kw)
    plain = price(lines, DEFAULT, **kw)
    doubled = q.lines[0].earn_points == 2 * plain.lines[0].earn_points > 0
    assert doubled is (q.lines[0].rules == ("r",))
    return doubled


def test_categories_and_skus():
    assert applies(on("coffee", "tea"))
    assert not applies(on("tea"))
    assert applies(When(skus=frozenset({"LATTE"})), [line(24000, "coffee", sku="LATTE")])
    assert not applies(When(skus=frozenset({"LATTE"})), [line(24000, "coffee", sku="FLAT")])
    # both given: both must hold
    both = When(categories=frozenset({"coffee"}), skus=frozenset({"LATTE"}))
    assert applies(both, [line(24000, "coffee", sku="LATTE")])
    assert not applies(both, [line(24000, "tea", sku="LATTE")])


def test_the_rule_applies_only_to_the_lines_it_matches():
    q = price([COFFEE_240, line(24000, "tea")], rules(MORNING))
    assert [ln.earn_points for ln in q.lines] == [24, 12]
    assert [ln.rules for ln in q.lines] == [("coffee-morning",), ()]


def test_stores():
    assert applies(When(stores=frozenset({"central"})))
    assert not applies(When(stores=frozenset({"central"})), store="north")


def test_weekdays_are_iso_in_the_stores_zone():
    assert applies(When(weekdays=frozenset({1})))  # Monday
    assert not applies(When(weekdays=frozenset({2, 3, 4, 5, 6, 7})))
    sunday_noon = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert applies(When(weekdays=frozenset({7})), at=sunday_noon)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(6, 59, 59), False),
        (time(7, 0), True),  # time_from is inclusive
        (time(10, 59, 59, 999999), True),
        (time(11, 0), False),  # time_to is exclusive
    ],
)
def test_time_of_day_from_inclusive_to_exclusive(local, expected):
    at = datetime.combine(date(2026, 3, 2), local, tzinfo=ZoneInfo(MOSCOW))
    assert applies(When(time_from=time(7), time_to=time(11)), at=at) is expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 2, 28), False),
        (date(2026, 3, 1), True),
        (date(2026, 3, 8), True),
        (date(2026, 3, 9), False),
    ],
)
def test_dates_are_inclusive_local_days(day, expected):
    at = datetime.combine(day, time(23, 30), tzinfo=ZoneInfo(MOSCOW))
    assert applies(When(date_from=date(2026, 3, 1), date_to=date(2026, 3, 8)), at=at) is expected


def test_minimum_receipt_is_the_amount_before_discounts():
    when = When(min_receipt=24000)
    assert applies(when)
    assert not applies(when, [line(23999, "coffee")])
    # a 10 % card takes the receipt to 216 ₽, yet the 240 ₽ before the discount counts
    program = rules(
        rule("r", Then(earn_percent=D(5)), when), mode="discount", discount_percent=D(10)
    )
    q = price([COFFEE_240], program)
    assert (q.lines[0].rules, q.earn_points) == (("r",), 10)  # 5 % of 216 ₽ = 10.8


def test_enrolled_within_days():
    enrolled = MONDAY_10_MSK - timedelta(days=7)
    when = When(enrolled_within_days=7)
    assert applies(when, member=MemberState(1, 0, 0, enrolled_at=enrolled + timedelta(seconds=1)))
    assert not applies(when, member=MemberState(1, 0, 0, enrolled_at=enrolled))  # 7 days ago: over
    assert not applies(when, member=MemberState(1, 0, 0, enrolled_at=None))


# --- a receipt's own time in its store's zone ----------------------------------------------------

MONDAY_MORNING = When(weekdays=frozenset({1}), time_from=time(7), time_to=time(11))
SUNDAY_2330_UTC = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 02:30 MSK, 09:30 VLAT
MONDAY_0500_UTC = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # Monday 08:00 MSK, 15:00 VLAT


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        (SUNDAY_2330_UTC, MOSCOW, False),  # Monday 02:30: too early
        (SUNDAY_2330_UTC, VLADIVOSTOK, True),  # Monday 09:30
        (MONDAY_0500_UTC, MOSCOW, True),  # Monday 08:00
        (MONDAY_0500_UTC, VLADIVOSTOK, False),  # Monday 15:00: too late
        (datetime.fromisoformat("2026-03-02T08:00:00+03:00"), MOSCOW, True),  # the same instant
        (datetime.fromisoformat("2026-03-02T08:00:00+03:00"), "UTC", False),  # 05:00 in UTC
    ],
)
def test_monday_morning_is_read_on_the_stores_clock(at, zone, expected):
    assert applies(MONDAY_MORNING, at=at, zone=zone) is expected


def test_the_rule_use_and_the_lots_are_dated_by_the_stores_day():
    daily = Limit(per_member_per_day=1)
    program = rules(rule("r", x("2"), MONDAY_MORNING, limit=daily), pending_days=1)
    q = price([COFFEE_240], program, at=SUNDAY_2330_UTC, zone=VLADIVOSTOK)
    vlat = ZoneInfo(VLADIVOSTOK)
    # Sunday in UTC, Monday in Vladivostok: the offer counts against Monday 2 March there
    assert q.effects == (
        Grant(
            points=24,
            available_at=datetime(2026, 3, 3, tzinfo=vlat),
            expires_at=datetime(2027, 3, 3, tzinfo=vlat),
        ),
        RuleUse("r", date(2026, 3, 2)),
    )


def test_lot_dates():
    at = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo(MOSCOW))
    msk = ZoneInfo(MOSCOW)
    # available at once; valid through the whole of 2 March 2027
    assert lot_dates(at, MOSCOW, Program()) == (at, datetime(2027, 3, 3, tzinfo=msk))
    assert lot_dates(at, MOSCOW, Program(pending_days=14, expiry_days=30)) == (
        datetime(2026, 3, 16, tzinfo=msk),
        datetime(2026, 4, 2, tzinfo=msk),
    )
    # 22:00 UTC on 1 March is already 2 March in Moscow
    late = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    assert lot_dates(late, MOSCOW, Program(pending_days=1))[0] == datetime(2026, 3, 3, tzinfo=msk)
    assert lot_dates(late, "UTC", Program(pending_days=1))[0] == datetime(2026, 3, 2, tzinfo=UTC)


def test_the_issues_example_document():
    doc = {
        "mode": "points",
        "name": "Копилка кофейни",
        "point_value": "1.00",
        "earn_percent": "5",
        "redeem_max_percent": "30",
        "pending_days": 0,
        "expiry_days": 365,
        "excluded_categories": {"tobacco": ["earn", "discount", "redeem"]},
        "rules": [
            {
                "code": "coffee-morning",
                "name": "Утренний кофе ×2",
                "priority": 10,
                "combine": "stack",
                "when": {
                    "categories": ["coffee"],
                    "weekdays": [1, 2, 3, 4, 5],
                    "time_from": "07:00",
                    "time_to": "11:00",
                    "date_from": "2026-12-01",
                    "date_to": "2027-03-01",
                    "stores": ["central"],
                    "min_receipt": "300.00",
                },
                "then": {"earn_multiplier": "2"},
                "limit": {"per_member_per_day": 1},
            }
        ],
    }
    program = program_from_document(doc, version=7)
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo(MOSCOW))
    lines = [line(24000, "coffee"), line(6000, "bakery")]
    q = price(lines, program, at=monday)
    assert [ln.earn_points for ln in q.lines] == [24, 3]
    assert q.program_version == 7
    assert RuleUse("coffee-morning", date(2026, 12, 7)) in q.effects
    assert texts(q.lines[0].reasons) == ["5% base + ×2 «Утренний кофе ×2» = 24 points"]
    # used once today already: the offer is over for the day
    used = MemberState(1, 500, 0, day_uses={"coffee-morning": 1})
    assert [ln.earn_points for ln in price(lines, program, used, at=monday).lines] == [12, 3]
    # Saturday, or Monday at 11:00, or another store: no offer
    assert price(lines, program, at=monday + timedelta(days=5)).earn_points == 15
    assert price(lines, program, at=monday.replace(hour=11, minute=0)).earn_points == 15
    assert price(lines, program, at=monday, store="north").earn_points == 15


# --- effects -------------------------------------------------------------------------------------


def test_earn_multiplier_multiplies_the_lines_rate():
    q = price([COFFEE_240], rules(MORNING))
    assert q.earn_points == 24  # 10 % of 240 ₽
    assert texts(q.lines[0].reasons) == ["5% base + ×2 «Утренний кофе» = 24 points"]
    assert q.lines[0].reasons[0].params == {
        "points": 24,
        "parts": [
            {"kind": "base", "percent": "5"},
            {
                "kind": "multiplier",
                "rule": "coffee-morning",
                "name": "Утренний кофе",
                "multiplier": "2",
            },
        ],
    }


def test_multipliers_stack_by_multiplying():
    program = rules(MORNING, rule("half-more", x("1.5"), name="Ещё половина"))
    q = price([COFFEE_240], program)
    assert q.earn_points == 36  # 5 % × 2 × 1.5 = 15 %
    assert texts(q.lines[0].reasons) == [
        "5% base + ×2 «Утренний кофе» + ×1.5 «Ещё половина» = 36 points"
    ]


def test_earn_percent_replaces_the_rate_and_the_largest_wins_before_multipliers():
    program = rules(
        rule("eight", Then(earn_percent=D(8)), name="Восемь"),
        rule("twelve", Then(earn_percent=D(12)), name="Двенадцать"),
    )
    assert price([COFFEE_240], program).earn_points == 28  # 12 % of 240 = 28.8
    program = rules(*program.rules, MORNING)
    q = price([COFFEE_240], program)
    assert q.earn_points == 57  # 12 % × 2 = 24 % of 240 = 57.6
    assert texts(q.lines[0].reasons) == ["12% «Двенадцать» + ×2 «Утренний кофе» = 57 points"]
    # a replacement below the base still replaces it
    assert price([COFFEE_240], rules(rule("low", Then(earn_percent=D(1))))).earn_points == 2


def test_earn_percent_earns_points_even_in_a_discount_mode():
    program = rules(
        rule("coffee-points", Then(earn_percent=D(5)), on("coffee")),
        mode="discount",
        discount_percent=D(10),
    )
    q = price([COFFEE_240, line(24000, "tea")], program)
    assert [ln.earn_points for ln in q.lines] == [10, 0]  # 5 % of 216 ₽ = 10.8
    assert [ln.discount for ln in q.lines] == [2400, 2400]


def test_a_multiplier_alone_does_nothing_where_there_is_no_rate():
    program = rules(MORNING, mode="discount", discount_percent=D(10))
    q = price([COFFEE_240], program)
    assert q.earn_points == 0
    assert texts(q.lines[0].reasons) == ["Discount 10% card discount = 24.00 ₽"]


def test_points_per_unit_floor_the_quantity_times_the_points():
    per_kg = rule("beans", Then(points_per_unit=3), on("coffee"), name="Зерно")
    q = price([line(100000, "coffee", q="2.5")], rules(per_kg))
    # 7.5 points for 2.5 kg floor to 7, on top of 5 % of 2,500.00 ₽
    assert q.earn_points == 125 + 7
    # 0.9 points for 0.3 kg floor to none: 5 % of 300.00 ₽ alone
    assert price([line(100000, "coffee", q="0.3")], rules(per_kg)).earn_points == 15
    # per-unit points even where the line is free
    assert price([line(0, "coffee", q="2")], rules(per_kg)).earn_points == 6


def test_the_per_unit_part_of_the_reason_is_the_points_given():
    # the parts add up to the figure: 125 + 7 = 132
    per_kg = rule("beans", Then(points_per_unit=3), on("coffee"), name="Зерно")
    q = price([line(100000, "coffee", q="2.5")], rules(per_kg))
    assert texts(q.lines[0].reasons) == ["5% base + 7 points «Зерно» = 132 points"]


def test_bonus_points_are_given_once_per_receipt_and_spread_by_what_was_paid():
    bonus = rule("coffee-bonus", Then(bonus_points=50), on("coffee"), name="Кофейный бонус")
    lines = [line(30000, "coffee", sku="A"), line(10000, "coffee", sku="B"), line(10000, "tea")]
    q = price(lines, rules(bonus))
    # 37.5 and 12.5: the spare half goes to the earlier line
    assert [ln.earn_points for ln in q.lines] == [15 + 38, 5 + 12, 5]
    assert q.earn_points == 25 + 50
    assert [ln.rules for ln in q.lines] == [("coffee-bonus",), ("coffee-bonus",), ()]
    assert texts(q.lines[0].reasons) == ["5% base + 38 points «Кофейный бонус» = 53 points"]
    assert "«Кофейный бонус»: 50 bonus points." in texts(q.reasons)
    assert not any(isinstance(e, RuleUse) for e in q.effects)  # no limit: nothing to count
    # "You earn 75 points on this receipt.": no single rate describes a bonus
    assert "You earn 75 points on this receipt." in texts(q.reasons)


def test_a_bonus_on_free_lines_is_spread_evenly():
    bonus = rule("b", Then(bonus_points=5))
    q = price([line(0, sku="A"), line(0, sku="B")], rules(bonus))
    assert [ln.earn_points for ln in q.lines] == [3, 2]


def test_discount_percent_adds_to_the_cards_and_stops_at_100():
    coffee_off = rule("coffee-off", Then(discount_percent=D(5)), on("coffee"), name="Кофе −5 %")
    program = rules(coffee_off, mode="discount", discount_percent=D(10))
    q = price([COFFEE_240, line(24000, "tea")], program)
    assert [ln.discount for ln in q.lines] == [3600, 2400]
    assert texts(q.lines[0].reasons) == ["Discount 10% card discount + 5% «Кофе −5 %» = 36.00 ₽"]
    # in the points mode a discount rule discounts, and points are earned on what is left
    q = price([COFFEE_240], rules(coffee_off))
    assert (q.discount, q.earn_points) == (1200, 11)  # 5 % of 228 ₽ = 11.4
    # 60 % + 50 % is a free line, not a negative one
    free = rules(rule("a", Then(discount_percent=D(60))), rule("b", Then(discount_percent=D(50))))
    q = price([COFFEE_240], free, redeem="max")
    assert (q.discount, q.payable, q.earn_points, q.max_redeemable) == (24000, 0, 0, 0)


# --- combination ---------------------------------------------------------------------------------


def test_exclusive_is_alone_on_its_lines():
    program = rules(
        MORNING,
        rule("triple", x("3"), on("coffee"), combine="exclusive", priority=1, name="Тройные"),
    )
    q = price([COFFEE_240, line(24000, "tea")], program)
    assert [ln.rules for ln in q.lines] == [("triple",), ()]
    assert [ln.earn_points for ln in q.lines] == [36, 12]
    assert texts(q.lines[0].reasons) == ["5% base + ×3 «Тройные» = 36 points"]
    # the stack rule on its own lines is untouched by an exclusive rule elsewhere
    program = rules(rule("tea-x2", x("2"), on("tea")), *program.rules)
    assert price([COFFEE_240, line(24000, "tea")], program).lines[1].earn_points == 24


def test_the_highest_priority_exclusive_wins_and_ties_go_to_the_lower_code():
    a = rule("a-exclusive", x("2"), combine="exclusive", priority=5)
    b = rule("b-exclusive", x("4"), combine="exclusive", priority=5)
    c = rule("c-exclusive", x("3"), combine="exclusive", priority=9)
    assert price([COFFEE_240], rules(b, a)).lines[0].rules == ("a-exclusive",)
    assert price([COFFEE_240], rules(a, b, c)).lines[0].rules == ("c-exclusive",)
    assert price([COFFEE_240], rules(c, b, a)).earn_points == 36


def test_stack_applies_every_rule():
    program = rules(
        rule("x2", x("2")),
        rule("off", Then(discount_percent=D(10))),
        rule("pu", Then(points_per_unit=1)),
    )
    q = price([COFFEE_240], program)
    assert q.lines[0].rules == ("off", "pu", "x2")  # in rule order: priority, then code
    assert (q.discount, q.earn_points) == (2400, 21 + 1)  # 10 % of 216 ₽, plus one per unit


def test_best_takes_only_the_rule_worth_most_to_the_member():
    program = rules(
        rule("x2", x("2"), combine="best"),
        rule("x3", x("3"), combine="best"),
        rule("stacked", Then(points_per_unit=1)),
    )
    q = price([COFFEE_240], program)
    assert q.lines[0].rules == ("stacked", "x3")
    assert q.earn_points == 36 + 1
    # a 10 % discount (24 ₽ + 5 % of 216 ₽) is worth more than doubling 5 % (24 ₽)
    program = rules(
        rule("x2", x("2"), combine="best"),
        rule("off", Then(discount_percent=D(10)), combine="best"),
    )
    q = price([COFFEE_240], program)
    assert (q.lines[0].rules, q.discount, q.earn_points) == (("off",), 2400, 10)


def test_best_ties_go_to_the_higher_priority_then_the_lower_code():
    program = rules(rule("b", x("2"), combine="best"), rule("a", x("2"), combine="best"))
    assert price([COFFEE_240], program).lines[0].rules == ("a",)
    program = rules(
        rule("b", x("2"), combine="best", priority=1), rule("a", x("2"), combine="best")
    )
    assert price([COFFEE_240], program).lines[0].rules == ("b",)


def test_best_bonus_takes_the_largest_and_exclusive_bonus_is_alone():
    small = rule("small", Then(bonus_points=10), combine="best")
    large = rule("large", Then(bonus_points=30), combine="best")
    stacked = rule("stacked", Then(bonus_points=5))
    q = price([COFFEE_240], rules(small, large, stacked))
    assert (q.earn_points, q.lines[0].rules) == (12 + 30 + 5, ("large", "stacked"))
    only = rule("only", Then(bonus_points=1), combine="exclusive")
    q = price([COFFEE_240], rules(small, large, stacked, only))
    assert (q.earn_points, q.lines[0].rules) == (12 + 1, ("only",))


def test_a_bonus_takes_part_in_best_by_its_share_of_the_line():
    # 30 bonus points on the one coffee are worth more than doubling 5 % of 240 ₽ (12 points)
    program = rules(
        rule("bonus", Then(bonus_points=30), on("coffee"), combine="best"),
        rule("double", x("2"), combine="best"),
    )
    q = price([COFFEE_240, line(24000, "tea")], program)
    assert [ln.rules for ln in q.lines] == [("bonus",), ("double",)]
    assert [ln.earn_points for ln in q.lines] == [12 + 30, 24]


def test_best_counts_points_per_unit_for_the_whole_quantity():
    # ten units at 20 points (200) beat doubling 5 % of 1,000 ₽ (50 more)
    program = rules(
        rule("per-unit", Then(points_per_unit=20), combine="best"),
        rule("double", x("2"), combine="best"),
    )
    q = price([line(10000, q="10")], program)
    assert q.lines[0].rules == ("per-unit",)
    assert q.earn_points == 50 + 200


def test_an_exclusive_bonus_leaves_other_lines_bonuses_alone():
    # an exclusive rule is alone on the lines it applies to, not on the whole receipt
    tea = rule("tea-bonus", Then(bonus_points=10), on("tea"), combine="exclusive")
    coffee = rule("coffee-bonus", Then(bonus_points=20), on("coffee"))
    q = price([line(10000, "tea"), line(10000, "coffee")], rules(tea, coffee))
    assert [ln.earn_points for ln in q.lines] == [5 + 10, 5 + 20]


def test_an_exclusive_line_rule_replaces_the_bonus_on_its_line():
    # a receipt bonus is a rule on the lines it matches like any other
    triple = rule("triple", x("3"), on("coffee"), combine="exclusive", priority=10)
    bonus = rule("coffee-bonus", Then(bonus_points=20), on("coffee"))
    q = price([line(10000, "coffee")], rules(triple, bonus))
    assert (q.earn_points, q.lines[0].rules) == (15, ("triple",))


def test_an_idle_exclusive_multiplier_does_not_take_the_lines_discount_away():
    program = rules(
        rule("coffee-off", Then(discount_percent=D(5)), on("coffee")),
        rule("x2", x("2"), on("coffee"), combine="exclusive"),
        mode="discount",
        discount_percent=D(10),
    )
    q = price([COFFEE_240], program)
    assert (q.lines[0].discount, q.lines[0].rules) == (3600, ("coffee-off",))


def test_the_order_rules_were_written_in_changes_nothing():
    program = rules(
        MORNING,
        rule("x3", x("3"), combine="best"),
        rule("off", Then(discount_percent=D(10)), combine="best"),
        rule("ex", x("4"), on("tea"), combine="exclusive"),
        rule("bonus", Then(bonus_points=7)),
    )
    lines = [COFFEE_240, line(24000, "tea"), line(5000, "tobacco")]
    reversed_program = rules(*reversed(program.rules))
    assert price(lines, program, redeem=50) == price(lines, reversed_program, redeem=50)


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "member", "expected"),
    [
        (Limit(per_member_per_day=1), MemberState(1, 0, 0), True),
        (Limit(per_member_per_day=1), MemberState(1, 0, 0, day_uses={"r": 1}), False),
        (Limit(per_member_per_day=2), MemberState(1, 0, 0, day_uses={"r": 1}), True),
        (Limit(per_member_per_day=1), MemberState(1, 0, 0, day_uses={"other": 5}), True),
        (Limit(per_member_per_month=3), MemberState(1, 0, 0, month_uses={"r": 2}), True),
        (Limit(per_member_per_month=3), MemberState(1, 0, 0, month_uses={"r": 3}), False),
        (
            Limit(per_member_per_day=1, per_member_per_month=3),
            MemberState(1, 0, 0, day_uses={"r": 0}, month_uses={"r": 3}),
            False,
        ),
        (Limit(), MemberState(1, 0, 0, day_uses={"r": 99}, month_uses={"r": 99}), True),
    ],
)
def test_a_rule_at_its_limit_does_not_apply(limit, member, expected):
    q = price([COFFEE_240], rules(rule("r", x("2"), limit=limit)), member)
    assert (q.earn_points == 24) is expected
    # a use is recorded where a limit counts it: a rule without one records none
    limited = limit != Limit()
    assert (RuleUse("r", date(2026, 3, 2)) in q.effects) is (expected and limited)


def test_a_limited_bonus_at_its_limit_gives_nothing():
    bonus = rule("daily", Then(bonus_points=10), limit=Limit(per_member_per_day=1))
    member = MemberState(1, 0, 0, day_uses={"daily": 1})
    assert price([COFFEE_240], rules(bonus), member).earn_points == 12


def test_a_rule_use_is_recorded_once_and_only_for_limited_rules_that_applied():
    daily = Limit(per_member_per_day=3)
    program = rules(
        rule("coffee", x("2"), on("coffee"), limit=daily),
        rule("tea", x("2"), on("tea"), limit=daily),  # no tea on the receipt
        rule("x2", x("2"), combine="best", limit=daily),  # loses to x3 on both lines
        rule("x3", x("3"), combine="best", limit=daily),
        rule("always", Then(points_per_unit=1)),  # applies, but no limit counts it
    )
    q = price([COFFEE_240, line(1000, "coffee", sku="C2")], program)
    assert q.lines[0].rules == ("always", "coffee", "x3")
    uses = [e for e in q.effects if isinstance(e, RuleUse)]
    assert uses == [RuleUse("coffee", date(2026, 3, 2)), RuleUse("x3", date(2026, 3, 2))]


# --- effects -------------------------------------------------------------------------------------


def test_effects_of_a_redeeming_earning_receipt():
    q = price([line(60000), line(40000)], Program(), MEMBER, redeem=300)
    at = MONDAY_10_MSK
    assert q.effects == (
        Spend(300),
        Grant(points=35, available_at=at, expires_at=datetime(2027, 3, 3, tzinfo=ZoneInfo(MOSCOW))),
    )
    assert q.effects[1] == Grant(35, *lot_dates(at, MOSCOW, Program()))


def test_no_effects_when_nothing_is_spent_or_earned():
    assert price([line(1999)], Program(earn_percent=D(5))).effects == ()


# --- reasons -------------------------------------------------------------------------------------


def rich_quote() -> Quote:
    program = rules(
        MORNING,
        rule("beans", Then(points_per_unit=2), on("beans"), name="Зерно"),
        rule("bonus", Then(bonus_points=10), on("beans"), name="Новинка"),
        rule("pastry-off", Then(discount_percent=D(20)), on("pastry"), name="Выпечка"),
        pending_days=3,
    )
    lines = [COFFEE_240, line(100000, "beans"), line(15000, "pastry"), line(30000, "tobacco")]
    return price(lines, program, MemberState(1, available=1000, pending=5), redeem=100)


def test_a_rich_quote_explained_line_by_line_in_english():
    q = rich_quote()
    # points may pay 30 % of 240 + 1,000 + 120 ₽ (the pastry after its 30 ₽ off, no tobacco);
    # 100 points spread by those amounts: 17.6, 73.5, 8.8 -> 18, 73, 9 (largest remainders)
    assert [ln.redeem_points for ln in q.lines] == [18, 73, 9, 0]
    assert [ln.payable for ln in q.lines] == [22200, 92700, 11100, 30000]
    # 10 % of 222, 5 % of 927 and of 111 ₽: 22.2 + 46.35 + 5.55 = 74.1 -> 22, 46, 6;
    # the beans add 2 points per unit and the 10-point bonus
    assert [ln.earn_points for ln in q.lines] == [22, 46 + 2 + 10, 6, 0]
    assert [texts(ln.reasons) for ln in q.lines] == [
        ["18 points paid 18.00 ₽", "5% base + ×2 «Утренний кофе» = 22 points"],
        ["73 points paid 73.00 ₽", "5% base + 2 points «Зерно» + 10 points «Новинка» = 58 points"],
        ["Discount 20% «Выпечка» = 30.00 ₽", "9 points paid 9.00 ₽", "5% base = 6 points"],
        [LAW_TEXT],
    ]
    assert [ln.rules for ln in q.lines] == [
        ("coffee-morning",),
        ("beans", "bonus"),
        ("pastry-off",),
        (),
    ]
    assert texts(q.reasons) == [
        "Discount on this receipt: 30.00 ₽.",
        "100 points pay 100.00 ₽ of this receipt.",
        "At most 30% of a receipt can be paid with points: up to 408 points here.",
        "You earn 86 points on this receipt.",
        "«Новинка»: 10 bonus points.",
        "The points become available in 3 days.",
        "Points are valid for 365 days.",
        "Balance after this receipt: 900 points available, 91 pending.",
    ]


def test_reasons_are_json_ready_and_read_back_the_same():
    q = rich_quote()
    every = [*q.reasons, *(r for ln in q.lines for r in ln.reasons)]
    for reason in every:
        stored = json.loads(json.dumps(reason.stored(), ensure_ascii=False))
        assert Reason.from_stored(stored) == reason
        assert Reason.from_stored(stored).render() == reason.render()


def test_singular_wordings():
    def en(code: str, **params: Any) -> str:
        return texts((Reason(code, params),))[0]

    assert en("line_earn", points=1, parts=[{"kind": "base", "percent": "5"}]) == (
        "5% base = 1 point"
    )
    assert en("line_redeem", points=1, money="1.00") == "1 point paid 1.00 ₽"
    assert en("bonus", rule="b", name="Б", points=1) == "«Б»: 1 bonus point."
    assert en("earn", points=1, rate=None, paid="1.00") == "You earn 1 point on this receipt."
    assert en(
        "line_earn", points=3, parts=[{"kind": "per_unit", "rule": "u", "name": "У", "points": 1}]
    ) == ("1 point «У» = 3 points")
    with pytest.raises(ValueError):
        Reason("no-such-reason", {}).render()


@russian
def test_render_in_a_language_other_than_the_active_one():
    # a job or a replay may word a reason in a language other than the active one; 4321 days:
    # a text no other test renders, so a cache that kept the wrong language would harm no other
    reason = Reason("expiry", {"days": 4321})
    with translation.override("ru"):
        english = reason.render("en")
    with translation.override("en"):
        russian_text = reason.render("ru")
    assert (english, russian_text) == (
        "Points are valid for 4321 days.",
        "Баллы действуют 4321 день.",
    )


@russian
def test_the_translated_sentences_read_in_russian():
    q = price([line(99000)], Program(pending_days=14))
    assert texts(q.reasons, "ru") == [
        "Баллами можно оплатить не больше 30% чека: здесь максимум 297 баллов.",
        "Вы получаете 49 баллов: 5% от оплаченных 990.00 ₽.",
        "Баллы станут доступны через 14 дней.",
        "Баллы действуют 365 дней.",
        "Баланс после этого чека: доступно 500 баллов, ещё 49 в ожидании.",
    ]
    q = price([COFFEE_240], redeem=72)
    assert texts(q.reasons, "ru")[0] == "Списываем 72 балла — это 72.00 ₽ в оплату чека."
    q = price([line(1999)], Program(earn_percent=D("2.5")), MemberState(1, 1, 0))
    assert texts(q.reasons, "ru") == [
        "Вы не получаете баллов: 2.5% от оплаченных 19.99 ₽ — меньше одного балла.",
        "Баланс после этого чека: доступен 1 балл.",
    ]
    assert texts(price([line(1000)], member=None).reasons, "ru") == [
        "Без карты участника баллы не начисляются."
    ]
    with pytest.raises(RedeemLimitExceeded) as exc, translation.override("ru"):
        price([COFFEE_240], redeem=73)
    with translation.override("ru"):
        assert (
            exc.value.explain() == "Баллов к списанию по этому чеку — не больше 72, а запрошено 73."
        )


@russian
def test_line_reasons_read_in_russian():
    # the issue's own example
    q = price([COFFEE_240, line(5000, "nicotine")], rules(MORNING))
    assert [texts(ln.reasons, "ru") for ln in q.lines] == [
        ["5 % базовых + ×2 «Утренний кофе» = 24 балла"],
        [
            "Никотинсодержащая продукция: по закону (15-ФЗ, ст. 16) баллы и скидки не "
            "начисляются и баллами не оплачивается."
        ],
    ]
    assert texts(q.reasons, "ru")[1] == "Вы получаете 24 балла: 10% от оплаченных 240.00 ₽."
    q = rich_quote()
    assert [texts(ln.reasons, "ru") for ln in q.lines[:3]] == [
        ["18 баллов оплатили 18.00 ₽", "5 % базовых + ×2 «Утренний кофе» = 22 балла"],
        [
            "73 балла оплатили 73.00 ₽",
            "5 % базовых + 2 балла «Зерно» + 10 баллов «Новинка» = 58 баллов",
        ],
        ["Скидка 20 % «Выпечка» = 30.00 ₽", "9 баллов оплатили 9.00 ₽", "5 % базовых = 6 баллов"],
    ]
    assert texts(q.reasons, "ru")[:2] == [
        "Скидка по чеку: 30.00 ₽.",
        "Списываем 100 баллов — это 100.00 ₽ в оплату чека.",
    ]
    assert "«Новинка»: 10 бонусных баллов." in texts(q.reasons, "ru")
    card = Program(mode="discount", discount_percent=D(10))
    assert texts(price([COFFEE_240], card).lines[0].reasons, "ru") == [
        "Скидка 10 % по карте = 24.00 ₽"
    ]
    assert texts(price([COFFEE_240], card, None).reasons, "ru") == [
        "Без карты участника нет ни скидки, ни баллов."
    ]
    levels = Program(mode="accumulating_discount", discount_levels=LEVELS)
    member = MemberState(1, 0, 0, spend=2_000_000)
    assert texts(price([COFFEE_240], levels, member).lines[0].reasons, "ru") == [
        "Скидка 5 % за сумму покупок = 12.00 ₽"
    ]
    gift = Program(excluded_categories={"gift": frozenset({"redeem", "discount"})})
    assert texts(price([line(100, "gift")], gift).lines[0].reasons, "ru")[0] == (
        "gift: скидки не предоставляются, баллами не оплачивается по правилам программы."
    )


def engine_msgids() -> list[tuple[str, str | None]]:
    """(msgid, msgid_plural) of every gettext/ngettext call with literal texts in reasons.py and
    errors.py: the sentences a member or a cashier reads."""
    found: list[tuple[str, str | None]] = []
    folder = Path(reasons_module.__file__).parent
    for name in ("reasons.py", "errors.py"):
        tree = ast.parse((folder / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            args = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if node.func.id == "_" and args:
                found.append((args[0], None))
            elif node.func.id == "ngettext" and len(args) >= 2:
                found.append((args[0], args[1]))
    return found


def test_the_msgid_list_is_read_from_the_source():
    ids = [msgid for msgid, _plural in engine_msgids()]
    assert "%(parts)s = %(points)s point" in ids
    assert "No member card: no discount and no points." in ids
    assert len(ids) >= 25


@russian
def test_every_engine_sentence_has_a_russian_translation():
    from django.utils.translation import trans_real

    # The catalogue itself, not gettext: a translation may equal its msgid ("×%(multiplier)s
    # «%(name)s»" reads the same in Russian).
    catalog = trans_real.translation("ru")._catalog  # type: ignore[attr-defined]
    missing = [
        msgid
        for msgid, plural in engine_msgids()
        if (msgid if plural is None else (msgid, 0)) not in catalog
    ]
    assert missing == []
