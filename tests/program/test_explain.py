"""The program in plain sentences: every mode, condition, effect, combination and limit."""

from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext

from kopilka.program.engine.document import program_from_document
from kopilka.program.engine.explain import program_explained

LAW = (
    "Tobacco and nicotine products: no points or discounts are given and points cannot pay for "
    "them (15-FZ, art. 16)."
)


def explained(doc: dict[str, Any], language: str = "en") -> list[str]:
    with translation.override(language):
        return program_explained(program_from_document(doc))


def rule(code: str, name: str, **rest: Any) -> dict[str, Any]:
    return {"code": code, "name": name, **rest}


def test_the_default_program() -> None:
    assert explained({}) == [
        "«Копилка»: bonus points.",
        "5% of the money paid comes back as points (1 point = 1 ₽).",
        "Points can pay for up to 30% of a receipt.",
        "Points are valid for 365 days.",
        LAW,
    ]


def test_points_with_a_pending_period_and_a_point_worth_less_than_a_rouble() -> None:
    doc = {"earn_percent": "12.5", "point_value": "0.50", "pending_days": 14, "expiry_days": 1}
    assert explained(doc)[1:4] == [
        "12.5% of the money paid comes back as points (1 point = 0.50 ₽).",
        "Points can pay for up to 30% of a receipt.",
        "Points earned become available 14 days after the purchase.",
    ]
    assert explained(doc)[4] == "Points are valid for 1 day."


def test_points_that_cannot_pay_and_a_program_that_earns_only_by_offers() -> None:
    assert "Points cannot pay for purchases." in explained({"redeem_max_percent": "0"})
    no_rate = explained(
        {"earn_percent": "0", "rules": [rule("b", "Бонус", then={"bonus_points": 10})]}
    )
    assert no_rate[1] == "Purchases earn points only through the offers below."
    assert "Points can pay for up to 30% of a receipt." in no_rate


def test_the_discount_card() -> None:
    assert explained({"mode": "discount", "discount_percent": "7"}) == [
        "«Копилка»: a discount card.",
        "7% off every purchase with the card.",
        LAW,
    ]


def test_the_accumulating_discount() -> None:
    doc = {
        "mode": "accumulating_discount",
        "discount_levels": [
            {"from_spend": "0.00", "percent": "3"},
            {"from_spend": "10000.00", "percent": "5"},
            {"from_spend": "25000.50", "percent": "7.5"},
        ],
    }
    assert explained(doc) == [
        "«Копилка»: a discount that grows with your purchases.",
        "The discount depends on the total you have spent since joining, returns deducted, and "
        "applies from the next purchase after a level is reached.",
        "3% off from the first purchase.",
        "5% off once you have spent 10000 ₽.",
        "7.5% off once you have spent 25000.50 ₽.",
        LAW,
    ]


def test_a_discount_program_with_a_points_offer_says_what_points_are_worth() -> None:
    sentences = explained(
        {
            "mode": "discount",
            "discount_percent": "5",
            "rules": [rule("unit", "Штучно", then={"points_per_unit": 2})],
        }
    )
    assert sentences[2:5] == [
        "1 point = 1 ₽ when paying.",
        "Points can pay for up to 30% of a receipt.",
        "Points are valid for 365 days.",
    ]
    assert "«Штучно»: on every purchase — 2 points for each unit." in sentences


@pytest.mark.parametrize(
    ("when", "text"),
    [
        ({}, "on every purchase"),
        ({"weekdays": [1, 2, 3, 4, 5]}, "on weekdays"),
        ({"weekdays": [7, 6]}, "at weekends"),
        ({"weekdays": [1, 3]}, "on Mon, Wed"),
        ({"weekdays": [1, 2, 3, 4, 5, 6, 7]}, "on every purchase"),
        ({"time_from": "07:00", "time_to": "11:00"}, "from 07:00 to 11:00"),
        ({"time_from": "18:30"}, "from 18:30"),
        ({"time_to": "09:15"}, "until 09:15"),
        (
            {"date_from": "2026-12-01", "date_to": "2027-03-01"},
            "from Dec. 1, 2026 through March 1, 2027",
        ),
        ({"date_from": "2026-12-01"}, "starting Dec. 1, 2026"),
        ({"date_to": "2027-03-01"}, "through March 1, 2027"),
        ({"stores": ["central"]}, "store: central"),
        ({"stores": ["south", "central"]}, "stores: central, south"),
        ({"categories": ["coffee"]}, "category: coffee"),
        ({"categories": ["tea", "coffee"]}, "categories: coffee, tea"),
        ({"skus": ["COF1"]}, "item: COF1"),
        ({"skus": ["COF2", "COF1"]}, "items: COF1, COF2"),
        ({"min_receipt": "300.00"}, "on a receipt of 300 ₽ or more"),
        ({"min_receipt": "99.90"}, "on a receipt of 99.90 ₽ or more"),
        ({"enrolled_within_days": 1}, "in the first 1 day after joining"),
        ({"enrolled_within_days": 30}, "in the first 30 days after joining"),
        (
            {"weekdays": [6, 7], "time_from": "10:00", "categories": ["cakes"]},
            "at weekends, from 10:00, category: cakes",
        ),
    ],
)
def test_each_condition(when: dict[str, Any], text: str) -> None:
    doc = {"rules": [rule("r", "Акция", when=when, then={"bonus_points": 10})]}
    assert f"«Акция»: {text} — 10 bonus points once per receipt." in explained(doc)


@pytest.mark.parametrize(
    ("then", "text"),
    [
        ({"earn_multiplier": "2"}, "points ×2"),
        ({"earn_multiplier": "1.50"}, "points ×1.5"),
        ({"earn_percent": "10"}, "10% back in points instead of 5%"),
        ({"points_per_unit": 1}, "1 point for each unit"),
        ({"points_per_unit": 3}, "3 points for each unit"),
        ({"bonus_points": 1}, "1 bonus point once per receipt"),
        ({"bonus_points": 100}, "100 bonus points once per receipt"),
        ({"discount_percent": "15"}, "15% off"),
    ],
)
def test_each_effect(then: dict[str, Any], text: str) -> None:
    doc = {"rules": [rule("r", "Акция", then=then)]}
    assert f"«Акция»: on every purchase — {text}." in explained(doc)


def test_a_replacing_rate_outside_the_points_mode_replaces_nothing() -> None:
    doc = {
        "mode": "discount",
        "discount_percent": "3",
        "rules": [rule("r", "Акция", then={"earn_percent": "2"})],
    }
    assert "«Акция»: on every purchase — 2% back in points." in explained(doc)


def test_limits() -> None:
    doc = {
        "rules": [
            rule(
                "r",
                "Акция",
                then={"bonus_points": 5},
                limit={"per_member_per_day": 2, "per_member_per_month": 1},
            )
        ]
    }
    assert (
        "«Акция»: on every purchase — 5 bonus points once per receipt, at most 2 times a day, "
        "at most 1 time a month." in explained(doc)
    )


def test_combination_and_order_follow_the_engine_not_the_writing() -> None:
    rules = [
        rule("z-stack", "Кофе ×2", then={"earn_multiplier": "2"}, when={"categories": ["coffee"]}),
        rule("best-b", "Торт", combine="best", then={"discount_percent": "10"}),
        rule("best-a", "Выпечка", combine="best", then={"earn_percent": "10"}),
        rule("excl-low", "Ночь", combine="exclusive", then={"earn_multiplier": "3"}),
        rule("excl-high", "Новичок", combine="exclusive", priority=5, then={"points_per_unit": 1}),
        rule("bonus-x", "Бонус", combine="exclusive", then={"bonus_points": 10}),
    ]
    sentences = explained({"rules": rules})
    told = [s for s in sentences if s.startswith("«") and "—" in s]
    assert told == [
        "«Новичок»: on every purchase — 1 point for each unit, replaces every other offer on "
        "the items it applies to.",
        "«Выпечка»: on every purchase — 10% back in points instead of 5%, does not add up with "
        "«Торт»: the one worth more to you applies.",
        "«Торт»: on every purchase — 10% off, does not add up with «Выпечка»: the one worth "
        "more to you applies.",
        "«Бонус»: on every purchase — 10 bonus points once per receipt, replaces every other "
        "offer on the items it applies to, unless «Новичок» applies.",
        "«Ночь»: on every purchase — points ×3, replaces every other offer on the items it "
        "applies to, unless «Новичок», «Бонус» applies.",
        "«Кофе ×2»: category: coffee — points ×2.",
    ]
    assert "The other offers add up." in sentences
    # shuffled, the same words
    assert explained({"rules": list(reversed(rules))}) == sentences


def test_a_single_best_rule_is_simply_an_offer_and_stacking_rules_add_up() -> None:
    one_best = explained({"rules": [rule("b", "Один", combine="best", then={"bonus_points": 1})]})
    assert "«Один»: on every purchase — 1 bonus point once per receipt." in one_best
    stacking = explained(
        {
            "rules": [
                rule("a", "А", then={"bonus_points": 1}),
                rule("b", "Б", then={"earn_multiplier": "2"}),
            ]
        }
    )
    assert "The offers add up." in stacking


def test_exclusions() -> None:
    doc = {
        "excluded_categories": {
            "tobacco": ["earn", "discount", "redeem"],
            "nicotine": ["earn", "discount", "redeem"],
            "alcohol": ["earn", "redeem"],
            "lottery": ["discount"],
            "gift-cards": [],
        },
        "rules": [rule("r", "От 300", when={"min_receipt": "300.00"}, then={"bonus_points": 5})],
    }
    assert explained(doc)[-4:] == [
        LAW,
        "alcohol: no points are earned, points cannot pay for it.",
        "lottery: no discounts.",
        "Excluded items do not count towards a receipt's minimum amount.",
    ]


def test_a_partial_law_exclusion_is_told_as_it_is() -> None:
    sentences = explained({"excluded_categories": {"tobacco": ["earn", "discount"]}})
    assert LAW not in sentences
    assert sentences[-1] == "tobacco: no points are earned, no discounts."


def test_nothing_excluded_says_nothing_about_exclusions() -> None:
    assert not any(":" in s and "no " in s for s in explained({"excluded_categories": {}}))


def test_russian_by_the_active_language() -> None:
    sentences = explained(
        {"rules": [rule("r", "Акция", when={"date_from": "2026-12-01"}, then={"bonus_points": 5})]},
        "ru",
    )
    # already in the shared catalogue: the engine's reasons use the same sentence
    assert "Баллы действуют 365 дней." in sentences
    # dates in Russian
    assert any("1 декабря 2026" in s for s in sentences)


def _translated() -> bool:
    with translation.override("ru"):
        return gettext("«%(name)s»: bonus points.") != "«%(name)s»: bonus points."


@pytest.mark.skipif(not _translated(), reason="the Russian entries are not in the .po file yet")
def test_russian_wording() -> None:
    doc = {
        "name": "Копилка кофейни",
        "rules": [
            rule(
                "coffee-morning",
                "Утренний кофе ×2",
                when={
                    "categories": ["coffee"],
                    "weekdays": [1, 2, 3, 4, 5],
                    "time_from": "07:00",
                    "time_to": "11:00",
                },
                then={"earn_multiplier": "2"},
                limit={"per_member_per_day": 1},
            )
        ],
    }
    assert explained(doc, "ru") == [
        "«Копилка кофейни»: бонусные баллы.",
        "5 % от оплаченной суммы возвращается баллами (1 балл = 1 ₽).",
        "Баллами можно оплатить до 30 % чека.",
        "Баллы действуют 365 дней.",
        "«Утренний кофе ×2»: по будням, с 07:00 до 11:00, категория: coffee — баллы ×2, "
        "не чаще 1 раза в день.",
        "Табак и никотинсодержащая продукция: баллы и скидки не начисляются и баллами не "
        "оплачиваются (закон 15-ФЗ, ст. 16).",
    ]


def test_tiers_and_event_bonuses_are_told_with_their_figures() -> None:
    from tests.program.test_document import EXAMPLE

    program = program_from_document(EXAMPLE)
    with translation.override("en"):
        told = program_explained(program)
    assert (
        "«Серебро» from 10000 ₽: points ×1.5; points pay up to 40% of a receipt; "
        "Кофе без очереди; Ранний доступ к новинкам."
    ) in told
    assert (
        "«Золото» from 30000 ₽: points ×2; 3% off; Кофе без очереди; Десерт в день рождения."
        in told
    )
    assert "100 points for joining." in told
    assert (
        "Invite a friend with your code: once their first purchase has stood 14 days, points go "
        "to both — 100 to the friend, 200 to you."
    ) in told
    with translation.override("ru"):
        assert "100 баллов за регистрацию." in program_explained(program)
