"""The program document: every rule it checks, with the JSON path of the problem; the round trip
to a Program and back; the warnings about the law's exclusions."""

import copy
import json
import os
import subprocess
import sys
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from kopilka.program.engine.document import (
    DEFAULT_DOCUMENT,
    DocumentError,
    document_warnings,
    program_from_document,
    program_to_document,
)
from kopilka.program.engine.values import (
    ACTIONS,
    COMBINES,
    LAW_EXCLUDED,
    MODES,
    BirthdayBonus,
    DiscountLevel,
    EventBonus,
    EventBonuses,
    Limit,
    Program,
    ReferralBonus,
    Rule,
    Then,
    Tier,
    When,
)

ROOT = Path(__file__).resolve().parents[2]

# The issue's example, word for word.
EXAMPLE: dict[str, Any] = {
    "mode": "points",
    "name": "Копилка кофейни",
    "point_value": "1.00",
    "earn_percent": "5",
    "redeem_max_percent": "30",
    "pending_days": 0,
    "expiry_days": 365,
    "discount_percent": "0",
    "discount_levels": [
        {"from_spend": "0.00", "percent": "3"},
        {"from_spend": "10000.00", "percent": "5"},
    ],
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
    "tiers": [
        {
            "code": "silver",
            "name": "Серебро",
            "qualify_spend": "10000.00",
            "earn_multiplier": "1.5",
            "redeem_max_percent": "40",
            "discount_percent": "0",
            "privileges": ["Кофе без очереди", "Ранний доступ к новинкам"],
        },
        {
            "code": "gold",
            "name": "Золото",
            "qualify_spend": "30000.00",
            "earn_multiplier": "2",
            "discount_percent": "3",
            "privileges": ["Кофе без очереди", "Десерт в день рождения"],
        },
    ],
    "tier_window_days": 365,
    "tier_grace_days": 30,
    "bonuses": {
        "welcome": {"points": 100},
        "birthday": {"points": 200, "days_before": 3, "days_after": 7},
        "profile_completed": {"points": 50},
        "referral": {"referrer_points": 200, "friend_points": 100, "after_days": 14},
    },
}


def problems_of(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as caught:
        program_from_document(doc)
    return caught.value.problems


def with_rule(**rule: Any) -> dict[str, Any]:
    """A document with one rule: the given keys over a valid minimal rule."""
    base: dict[str, Any] = {"code": "r", "name": "Правило", "then": {"bonus_points": 10}}
    return {"rules": [{**base, **rule}]}


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


# --- what a valid document means -----------------------------------------------------------


def test_the_issue_example_reads_as_the_program_it_describes() -> None:
    program = program_from_document(EXAMPLE, version=7)
    assert program.version == 7
    assert program.name == "Копилка кофейни"
    assert (program.point_value, program.earn_percent, program.redeem_max_percent) == (
        100,
        Decimal(5),
        Decimal(30),
    )
    assert program.discount_levels == (
        DiscountLevel(0, Decimal(3)),
        DiscountLevel(1_000_000, Decimal(5)),
    )
    assert program.excluded_categories == {"tobacco": frozenset(ACTIONS)}
    assert program.rules == (
        Rule(
            code="coffee-morning",
            name="Утренний кофе ×2",
            priority=10,
            combine="stack",
            when=When(
                categories=frozenset({"coffee"}),
                weekdays=frozenset({1, 2, 3, 4, 5}),
                time_from=time(7),
                time_to=time(11),
                date_from=date(2026, 12, 1),
                date_to=date(2027, 3, 1),
                stores=frozenset({"central"}),
                min_receipt=30_000,
            ),
            then=Then(earn_multiplier=Decimal(2)),
            limit=Limit(per_member_per_day=1),
        ),
    )
    assert program.tiers == (
        Tier(
            code="silver",
            name="Серебро",
            qualify_spend=1_000_000,
            earn_multiplier=Decimal("1.5"),
            redeem_max_percent=Decimal(40),
            discount_percent=Decimal(0),
            privileges=("Кофе без очереди", "Ранний доступ к новинкам"),
        ),
        Tier(
            code="gold",
            name="Золото",
            qualify_spend=3_000_000,
            earn_multiplier=Decimal(2),
            discount_percent=Decimal(3),
            privileges=("Кофе без очереди", "Десерт в день рождения"),
        ),
    )
    assert (program.tier_window_days, program.tier_grace_days) == (365, 30)
    assert program.bonuses == EventBonuses(
        welcome=EventBonus(100),
        birthday=BirthdayBonus(200, days_before=3, days_after=7),
        profile_completed=EventBonus(50),
        referral=ReferralBonus(referrer_points=200, friend_points=100, after_days=14),
    )
    # and it is already canonical: written back key for key
    assert program_to_document(program) == EXAMPLE
    assert list(program_to_document(program)) == list(EXAMPLE)


def test_an_empty_document_is_the_default_program_with_the_law_s_exclusions() -> None:
    program = program_from_document({})
    assert program == Program()
    assert program.excluded_categories == dict(LAW_EXCLUDED)


def test_the_default_document_is_today_s_program() -> None:
    assert DEFAULT_DOCUMENT == {
        "mode": "points",
        "name": "Копилка",
        "point_value": "1.00",
        "earn_percent": "5",
        "redeem_max_percent": "30",
        "pending_days": 0,
        "expiry_days": 365,
        "discount_percent": "0",
        "discount_levels": [],
        "excluded_categories": {
            "nicotine": ["earn", "discount", "redeem"],
            "tobacco": ["earn", "discount", "redeem"],
        },
        "rules": [],
        "tiers": [],
        "tier_window_days": 365,
        "tier_grace_days": 30,
        "bonuses": {},
    }
    assert program_from_document(DEFAULT_DOCUMENT) == Program()
    assert document_warnings(DEFAULT_DOCUMENT) == []


def test_an_explicit_empty_exclusion_list_excludes_nothing() -> None:
    assert program_from_document({"excluded_categories": {}}).excluded_categories == {}


def test_numbers_keep_one_spelling() -> None:
    program = program_from_document({"earn_percent": "5.50", "redeem_max_percent": "100.00"})
    assert str(program.earn_percent) == "5.5" and str(program.redeem_max_percent) == "100"
    assert program_to_document(program)["earn_percent"] == "5.5"


def test_a_rule_takes_its_defaults() -> None:
    (rule,) = program_from_document(with_rule()).rules
    assert (rule.priority, rule.combine, rule.when, rule.limit) == (0, "stack", When(), Limit())
    assert program_to_document(Program(rules=(rule,)))["rules"] == [
        {
            "code": "r",
            "name": "Правило",
            "priority": 0,
            "combine": "stack",
            "when": {},
            "then": {"bonus_points": 10},
        }
    ]


@pytest.mark.parametrize(
    ("then", "expected"),
    [
        ({"earn_multiplier": "1.5"}, Then(earn_multiplier=Decimal("1.5"))),
        ({"earn_percent": "10"}, Then(earn_percent=Decimal(10))),
        ({"points_per_unit": 3}, Then(points_per_unit=3)),
        ({"bonus_points": 100}, Then(bonus_points=100)),
        ({"discount_percent": "15"}, Then(discount_percent=Decimal(15))),
    ],
)
def test_each_effect_reads(then: dict[str, Any], expected: Then) -> None:
    (rule,) = program_from_document(with_rule(then=then)).rules
    assert rule.then == expected


# --- every problem, with its path ----------------------------------------------------------

PROBLEMS: list[tuple[dict[str, Any], str, str | None]] = [
    # the top level
    ({"mode": "cashback"}, "mode", "must be one of: points, discount, accumulating_discount"),
    ({"name": ""}, "name", "must not be blank"),
    ({"name": 5}, "name", "must be a string"),
    ({"name": " Копилка"}, "name", "must not start or end with spaces"),
    ({"name": "a\x00b"}, "name", "must not contain control characters"),
    ({"name": "x" * 201}, "name", "must be at most 200 characters long"),
    ({"point_value": "0.00"}, "point_value", "must be greater than 0"),
    ({"point_value": "1.005"}, "point_value", "must have at most 2 decimal places"),
    ({"point_value": 1}, "point_value", "must be a decimal number written as a string"),
    ({"point_value": "1e2"}, "point_value", "must be a decimal number written as a string"),
    ({"point_value": "NaN"}, "point_value", "must be a decimal number written as a string"),
    ({"earn_percent": "101"}, "earn_percent", "must be at most 100"),
    ({"earn_percent": "-1"}, "earn_percent", "must not be negative"),
    ({"earn_percent": 5.5}, "earn_percent", "must be a decimal number written as a string"),
    ({"redeem_max_percent": "100.01"}, "redeem_max_percent", "must be at most 100"),
    ({"discount_percent": "250"}, "discount_percent", "must be at most 100"),
    ({"pending_days": -1}, "pending_days", "must not be negative"),
    ({"pending_days": 366}, "pending_days", "must be at most 365"),
    ({"pending_days": True}, "pending_days", "must be a whole number"),
    ({"pending_days": "3"}, "pending_days", "must be a whole number"),
    ({"expiry_days": 0}, "expiry_days", "must be at least 1"),
    ({"expiry_days": 3651}, "expiry_days", "must be at most 3650"),
    ({"rules": {}}, "rules", "must be a list"),
    ({"excluded_categories": []}, "excluded_categories", "must be an object"),
    # modes
    (
        {"mode": "accumulating_discount"},
        "discount_levels",
        "the accumulating discount needs at least one level",
    ),
    (
        {"mode": "accumulating_discount", "discount_levels": []},
        "discount_levels",
        "the accumulating discount needs at least one level",
    ),
    ({"mode": "discount"}, "discount_percent", "the discount card needs a discount greater than 0"),
    # discount levels
    (
        {"discount_levels": [{"from_spend": "100.00", "percent": "3"}]},
        "discount_levels[0].from_spend",
        "the first level must start from “0.00”",
    ),
    (
        {
            "discount_levels": [
                {"from_spend": "0.00", "percent": "3"},
                {"from_spend": "0.00", "percent": "5"},
            ]
        },
        "discount_levels[1].from_spend",
        "must be greater than the previous level’s (0.00)",
    ),
    (
        {"discount_levels": [{"from_spend": "0.00", "percent": "300"}]},
        "discount_levels[0].percent",
        "must be at most 100",
    ),
    ({"discount_levels": [{"from_spend": "0.00"}]}, "discount_levels[0].percent", "is required"),
    ({"discount_levels": ["3"]}, "discount_levels[0]", "must be an object"),
    # excluded categories
    (
        {"excluded_categories": {"tobacco": ["earn", "burn"]}},
        "excluded_categories.tobacco[1]",
        "must be one of: earn, discount, redeem",
    ),
    (
        {"excluded_categories": {"tobacco": ["earn", "earn"]}},
        "excluded_categories.tobacco[1]",
        "is listed twice",
    ),
    (
        {"excluded_categories": {"tobacco": "earn"}},
        "excluded_categories.tobacco",
        "must be a list",
    ),
    # rules
    (with_rule(code="Coffee"), "rules[0].code", "must be 1 to 64 lower-case Latin letters"),
    (with_rule(code="-x"), "rules[0].code", "must be 1 to 64 lower-case Latin letters"),
    (with_rule(code="x" * 65), "rules[0].code", "must be 1 to 64 lower-case Latin letters"),
    (with_rule(name=" "), "rules[0].name", "must not be blank"),
    (with_rule(priority=1.5), "rules[0].priority", "must be a whole number"),
    (with_rule(priority=10**7), "rules[0].priority", "must be at most 1000000"),
    (with_rule(combine="all"), "rules[0].combine", "must be one of: stack, best, exclusive"),
    (with_rule(when=[]), "rules[0].when", "must be an object"),
    ({"rules": ["r"]}, "rules[0]", "must be an object"),
    # when
    (with_rule(when={"categories": []}), "rules[0].when.categories", "must not be empty"),
    (with_rule(when={"categories": "coffee"}), "rules[0].when.categories", "must be a list"),
    (with_rule(when={"categories": ["coffee", ""]}), "rules[0].when.categories[1]", "blank"),
    (
        with_rule(when={"skus": ["COF1", "COF1"]}),
        "rules[0].when.skus[1]",
        "is listed twice",
    ),
    (
        with_rule(when={"skus": ["x" * 65]}),
        "rules[0].when.skus[0]",
        "must be at most 64 characters long",
    ),
    (
        with_rule(when={"stores": ["x" * 33]}),
        "rules[0].when.stores[0]",
        "must be at most 32 characters long",
    ),
    (with_rule(when={"weekdays": [1, 8]}), "rules[0].when.weekdays[1]", "must be at most 7"),
    (with_rule(when={"weekdays": [0]}), "rules[0].when.weekdays[0]", "must be at least 1"),
    (with_rule(when={"weekdays": ["mon"]}), "rules[0].when.weekdays[0]", "whole number"),
    (with_rule(when={"time_from": "7:00"}), "rules[0].when.time_from", "“HH:MM”"),
    (with_rule(when={"time_to": "24:00"}), "rules[0].when.time_to", "“HH:MM”"),
    (with_rule(when={"time_to": "10:60"}), "rules[0].when.time_to", "“HH:MM”"),
    (
        with_rule(when={"time_from": "11:00", "time_to": "11:00"}),
        "rules[0].when.time_to",
        "must be later than time_from (11:00); the end is exclusive",
    ),
    (with_rule(when={"date_from": "01.12.2026"}), "rules[0].when.date_from", "“YYYY-MM-DD”"),
    (with_rule(when={"date_from": "20261201"}), "rules[0].when.date_from", "“YYYY-MM-DD”"),
    (with_rule(when={"date_to": "2027-02-30"}), "rules[0].when.date_to", "not a date"),
    (
        with_rule(when={"date_from": "2027-03-02", "date_to": "2027-03-01"}),
        "rules[0].when.date_to",
        "must not be earlier than date_from (2027-03-02)",
    ),
    (with_rule(when={"min_receipt": "-1.00"}), "rules[0].when.min_receipt", "must not be negative"),
    (with_rule(when={"min_receipt": "300"}), "rules[0].when.min_receipt", None),
    (
        with_rule(when={"min_receipt": "10000000000.00"}),
        "rules[0].when.min_receipt",
        "must be at most 1000000000.00",
    ),
    (
        with_rule(when={"enrolled_within_days": 0}),
        "rules[0].when.enrolled_within_days",
        "must be at least 1",
    ),
    (with_rule(when={"date_from": None}), "rules[0].when.date_from", "“YYYY-MM-DD”"),
    # then
    (with_rule(then={}), "rules[0].then", "must hold exactly one of: earn_multiplier"),
    (
        with_rule(then={"earn_multiplier": "2", "bonus_points": 5}),
        "rules[0].then",
        "must hold exactly one of",
    ),
    ({"rules": [{"code": "r", "name": "R"}]}, "rules[0].then", "is required"),
    (
        with_rule(then={"earn_multiplier": "0"}),
        "rules[0].then.earn_multiplier",
        "must be greater than 0",
    ),
    (
        with_rule(then={"earn_multiplier": "100.5"}),
        "rules[0].then.earn_multiplier",
        "must be at most 100",
    ),
    (with_rule(then={"earn_percent": "101"}), "rules[0].then.earn_percent", "must be at most 100"),
    (
        with_rule(then={"discount_percent": "-5"}),
        "rules[0].then.discount_percent",
        "must not be negative",
    ),
    (with_rule(then={"bonus_points": 0}), "rules[0].then.bonus_points", "must be at least 1"),
    (
        with_rule(then={"bonus_points": 1_000_001}),
        "rules[0].then.bonus_points",
        "must be at most 1000000",
    ),
    (
        with_rule(then={"points_per_unit": "2"}),
        "rules[0].then.points_per_unit",
        "must be a whole number",
    ),
    # limit
    (
        with_rule(limit={"per_member_per_day": 0}),
        "rules[0].limit.per_member_per_day",
        "must be at least 1",
    ),
    (
        with_rule(limit={"per_member_per_month": -2}),
        "rules[0].limit.per_member_per_month",
        "must be at least 1",
    ),
    (with_rule(limit=1), "rules[0].limit", "must be an object"),
    # unknown keys: a typo never passes silently
    ({"earn_percnt": "5"}, "earn_percnt", "unknown key; did you mean “earn_percent”?"),
    ({"colour": "red"}, "colour", "unknown key; the keys here are: mode, name"),
    (with_rule(when={"weekday": [1]}), "rules[0].when.weekday", "did you mean “weekdays”?"),
    (
        with_rule(then={"earn_multiplyer": "2"}),
        "rules[0].then.earn_multiplyer",
        "did you mean “earn_multiplier”?",
    ),
    (
        with_rule(limit={"per_day": 1}),
        "rules[0].limit.per_day",
        "unknown key",
    ),
    (with_rule(priorty=1), "rules[0].priorty", "did you mean “priority”?"),
    (
        {"discount_levels": [{"from_spend": "0.00", "percent": "3", "to_spend": "1.00"}]},
        "discount_levels[0].to_spend",
        "unknown key",
    ),
]


@pytest.mark.parametrize(("doc", "path", "message"), PROBLEMS)
def test_a_problem_names_its_path(doc: dict[str, Any], path: str, message: str | None) -> None:
    if message is None:  # a control: this one is valid
        program_from_document(doc)
        return
    problems = problems_of(doc)
    assert [p for p, _m in problems] == [path], problems
    assert message in problems[0][1]


def test_valid_money_forms() -> None:
    for text, kopecks in [("300", 30000), ("300.5", 30050), ("0.01", 1), ("300.00", 30000)]:
        (rule,) = program_from_document(with_rule(when={"min_receipt": text})).rules
        assert rule.when.min_receipt == kopecks


def test_rule_codes_are_unique() -> None:
    doc = {
        "rules": [
            with_rule(code="a")["rules"][0],
            with_rule(code="b")["rules"][0],
            with_rule(code="a")["rules"][0],
        ]
    }
    assert problems_of(doc) == [("rules[2].code", "is already the code of rules[0]")]


def test_a_document_that_is_not_an_object() -> None:
    doc: object
    for doc in ([], "points", None, 5):
        assert problems_of(doc) == [("(document)", "must be an object")]


def test_every_problem_is_listed_at_once_in_reading_order() -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["earn_percent"] = "500"
    doc["expiry_days"] = 0
    doc["excluded_categories"]["tobacco"].append("burn")
    doc["rules"].append(
        {
            "code": "Bad Code",
            "name": "Второе",
            "when": {"time_from": "12:00", "time_to": "09:00", "wekdays": [1]},
            "then": {"earn_multiplier": "0"},
            "limit": {"per_member_per_day": 0},
        }
    )
    doc["rules"].append({"code": "coffee-morning", "name": "Копия", "then": {"bonus_points": 1}})
    with pytest.raises(DocumentError) as caught:
        program_from_document(doc)
    assert str(caught.value).splitlines() == [
        "earn_percent: must be at most 100",
        "expiry_days: must be at least 1",
        "excluded_categories.tobacco[3]: must be one of: earn, discount, redeem",
        "rules[1].code: must be 1 to 64 lower-case Latin letters, digits, “-” or “_”, "
        "starting with a letter or digit",
        "rules[1].when.wekdays: unknown key; did you mean “weekdays”?",
        "rules[1].when.time_to: must be later than time_from (12:00); the end is exclusive",
        "rules[1].then.earn_multiplier: must be greater than 0",
        "rules[1].limit.per_member_per_day: must be at least 1",
        "rules[2].code: is already the code of rules[0]",
    ]


def test_problems_are_worded_in_the_active_language() -> None:
    with translation.override("ru"):
        problems = problems_of(with_rule(then={"earn_multiplier": "0"}))
    assert problems[0][0] == "rules[0].then.earn_multiplier"
    # the msgid is English; until the lead adds the Russian .po entry it reads as the msgid
    assert problems[0][1]


def test_the_module_reads_documents_without_django_configured() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT / "src")
    script = (
        "import json, sys\n"
        "from kopilka.program.engine.document import DocumentError, program_from_document\n"
        "try:\n"
        "    program_from_document(json.loads(sys.argv[1]))\n"
        "except DocumentError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(with_rule(then={"earn_multiplier": "0"}))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "rules[0].then.earn_multiplier: must be greater than 0\n"


# --- warnings ------------------------------------------------------------------------------


def test_dropping_the_law_s_exclusion_is_warned_about() -> None:
    doc = {"excluded_categories": {"tobacco": ["earn", "discount"], "alcohol": ["earn"]}}
    warnings = document_warnings(doc)
    assert len(warnings) == 2
    tobacco, nicotine = warnings
    assert tobacco.startswith("15-FZ art. 16 forbids discounts on tobacco and nicotine")
    assert tobacco.endswith("but excluded_categories.tobacco does not exclude redeem.")
    assert nicotine.endswith(
        "but excluded_categories.nicotine does not exclude earn, discount, redeem."
    )
    # a Program is warned about the same way as its document
    assert document_warnings(program_from_document(doc)) == warnings


def test_keeping_the_law_s_exclusions_gives_no_warning() -> None:
    assert (
        document_warnings(
            EXAMPLE | {"excluded_categories": dict(DEFAULT_DOCUMENT["excluded_categories"])}
        )
        == []
    )
    assert document_warnings(Program()) == []
    assert len(document_warnings(EXAMPLE)) == 1  # the example excludes tobacco only


def test_warnings_of_an_invalid_document_are_its_problems() -> None:
    with pytest.raises(DocumentError):
        document_warnings({"mode": "x"})


# --- the round trip ------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
)
codes = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True)
percents = st.decimals(min_value=0, max_value=100, places=2)
multipliers = st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)
money = st.integers(min_value=0, max_value=10**9)
times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
code_sets = st.frozensets(
    st.sampled_from(["coffee", "tea", "cakes", "milk", "central"]), min_size=1
)


@st.composite
def whens(draw: st.DrawFn) -> When:
    start, end = draw(st.none() | times), draw(st.none() | times)
    if start is not None and end is not None and start >= end:
        start, end = None, end
    first, last = draw(st.none() | dates), draw(st.none() | dates)
    if first is not None and last is not None and first > last:
        first, last = last, first
    return When(
        categories=draw(st.none() | code_sets),
        skus=draw(st.none() | code_sets),
        weekdays=draw(st.none() | st.frozensets(st.integers(1, 7), min_size=1)),
        time_from=start,
        time_to=end,
        date_from=first,
        date_to=last,
        stores=draw(st.none() | code_sets),
        min_receipt=draw(st.none() | money),
        enrolled_within_days=draw(st.none() | st.integers(1, 3650)),
    )


thens = st.one_of(
    st.builds(Then, earn_multiplier=multipliers),
    st.builds(Then, earn_percent=percents),
    st.builds(Then, points_per_unit=st.integers(1, 1_000_000)),
    st.builds(Then, bonus_points=st.integers(1, 1_000_000)),
    st.builds(Then, discount_percent=percents),
)
limits = st.builds(
    Limit,
    per_member_per_day=st.none() | st.integers(1, 1000),
    per_member_per_month=st.none() | st.integers(1, 1000),
)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    rule_codes = draw(st.lists(codes, unique=True, max_size=4))
    rules = tuple(
        Rule(
            code=code,
            name=draw(names).strip() or "x",
            priority=draw(st.integers(-1000, 1000)),
            combine=draw(st.sampled_from(COMBINES)),
            when=draw(whens()),
            then=draw(thens),
            limit=draw(limits),
        )
        for code in rule_codes
    )
    spends = sorted(draw(st.sets(st.integers(1, 10**9), max_size=3)))
    mode = draw(st.sampled_from(MODES))
    levels = tuple(DiscountLevel(spend, draw(percents)) for spend in [0, *spends])
    return Program(
        mode=mode,
        name=draw(names).strip() or "x",
        point_value=draw(st.integers(1, 10**6)),
        earn_percent=draw(percents),
        redeem_max_percent=draw(percents),
        pending_days=draw(st.integers(0, 365)),
        expiry_days=draw(st.integers(1, 3650)),
        discount_percent=draw(st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)),
        discount_levels=levels if mode == "accumulating_discount" or draw(st.booleans()) else (),
        excluded_categories=draw(
            st.dictionaries(
                st.sampled_from(["tobacco", "nicotine", "alcohol", "lottery"]),
                st.frozensets(st.sampled_from(ACTIONS)),
            )
        ),
        rules=rules,
        version=draw(st.integers(0, 10**6)),
    )


@settings(max_examples=300, deadline=None)
@given(programs())
def test_a_program_survives_its_document(program: Program) -> None:
    document = program_to_document(program)
    # through JSON too, as the database and program_apply store and read it
    document = json.loads(json.dumps(document, ensure_ascii=False))
    assert program_from_document(document, version=program.version) == program
    assert program_to_document(program_from_document(document)) == document


def test_a_multiplier_with_nothing_to_multiply_is_warned_about() -> None:
    doc = {
        "mode": "discount",
        "discount_percent": "5",
        "rules": [with_rule(then={"earn_multiplier": "2"})["rules"][0]],
    }
    assert document_warnings(doc) == [
        "The program earns no points by itself (mode discount, earn_percent 5): "
        "rules[0].then.earn_multiplier multiplies only the earn_percent of other rules on the "
        "same items."
    ]
    assert document_warnings({**doc, "mode": "points"}) == []
    assert len(document_warnings({**doc, "mode": "points", "earn_percent": "0"})) == 1


def test_the_readme_example_is_a_valid_canonical_document_without_warnings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Программа лояльности / The program document") :]
    block = section[section.index("```json\n") + len("```json\n") :]
    document = json.loads(block[: block.index("```")])
    program = program_from_document(document)
    assert program_to_document(program) == document
    assert document_warnings(program) == []
    assert [rule.code for rule in program.rules] == ["coffee-morning"]
