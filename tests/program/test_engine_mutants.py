"""Engine cases the mutation score found untested (scripts/mutations.py): how `best` values a
receipt bonus on a line, and the cache of the rules each kind of line matches.

No database, as the other engine tests."""

from datetime import UTC, datetime
from decimal import Decimal

from kopilka.program.engine import Line, MemberState, Program, Receipt, Rule, Then, When, quote

MONDAY_10_MSK = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
MEMBER = MemberState(member_id=1, available=0, pending=0)
DOUBLE = Rule(code="double", name="×2", then=Then(earn_multiplier=Decimal(2)), combine="best")


def line(sku: str, category: str = "coffee", price: int = 100_000) -> Line:
    return Line(sku=sku, name=sku, category=category, quantity=Decimal(1), price=price)


def priced(
    lines: list[Line], *rules: Rule, program: Program | None = None
) -> list[tuple[tuple[str, ...], int]]:
    receipt = Receipt("central", MONDAY_10_MSK, "Europe/Moscow", tuple(lines))
    q = quote(receipt, MEMBER, program or Program(rules=rules))
    return [(x.rules, x.earn_points) for x in q.lines]


def bonus(points: int) -> Rule:
    return Rule(code="bonus", name="Бонус", then=Then(bonus_points=points), combine="best")


def test_best_values_a_bonus_by_its_share_of_the_lines_it_matches() -> None:
    # given three 1,000 ₽ coffees, and a choice (best) between doubling the 5 % (50 more points
    # a line) and a 60-point receipt bonus on every line (20 points a line)
    lines = [line("A"), line("B"), line("C")]
    # then doubling wins on each line: the bonus is worth a third of 60 on one of three
    assert priced(lines, DOUBLE, bonus(60)) == [(("double",), 100)] * 3
    # and on one coffee alone the whole bonus (60) beats doubling (50)
    assert priced(lines[:1], DOUBLE, bonus(60)) == [(("bonus",), 50 + 60)]


def test_lines_excluded_from_earning_do_not_thin_a_bonus_out() -> None:
    # given a 1,000 ₽ coffee and two tobacco lines, which earn nothing and take no bonus
    lines = [line("A"), line("T1", "tobacco"), line("T2", "tobacco")]
    # then the bonus is the coffee's alone: 60 points beat doubling's 50, as without tobacco
    assert priced(lines, DOUBLE, bonus(60)) == [(("bonus",), 50 + 60), ((), 0), ((), 0)]


def test_a_sku_rule_reaches_only_its_sku_whatever_the_order_of_the_lines() -> None:
    # given a rule on one SKU of a category, and two SKUs of that category on a receipt
    cap = Rule(
        code="cap",
        name="Капучино ×2",
        then=Then(earn_multiplier=Decimal(2)),
        when=When(skus=frozenset({"CAP"})),
    )
    # then only that SKU takes it, whichever comes first, quote after quote (the matches of a
    # kind of line are kept per version)
    for first in ("CAP", "LATTE"):
        program = Program(rules=(cap,))
        assert priced([line(first)], program=program)[0][0] == (("cap",) if first == "CAP" else ())
        assert priced([line("CAP"), line("LATTE")], program=program) == [
            (("cap",), 100),
            ((), 50),
        ]
        assert priced([line("LATTE"), line("CAP")], program=program) == [
            ((), 50),
            (("cap",), 100),
        ]
