"""The rules engine under the default program: worked examples a cashier can check by hand, then
properties of any receipt under any points program without rules.

The default `Program()` gives exactly the figures the one-row program gave (5 % back, 30 % cap,
a point = 1 ₽, 365 days). No database: runs with or without pytest-django
(`pytest tests/program/test_engine*.py -p no:django --confcutdir=tests/program`; the confcutdir
keeps the Django-only tests/conftest.py out).
"""

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kopilka.core.money import format_rubles
from kopilka.program.engine import (
    InsufficientPoints,
    Line,
    MemberState,
    NoMemberToRedeem,
    Program,
    Quote,
    QuoteError,
    Receipt,
    Redeem,
    RedeemLimitExceeded,
    line_amount,
    quote,
)
from kopilka.program.engine.arithmetic import spread

if not settings.configured:  # run without pytest-django: gettext only needs i18n switched off
    settings.configure(USE_I18N=False)

MEMBER = MemberState(member_id=1, available=500, pending=0)
AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow
DEFAULT = Program()


def item(price: int, quantity: str = "1", sku: str = "SKU") -> Line:
    return Line(sku=sku, name=sku, category="grocery", quantity=Decimal(quantity), price=price)


def receipt(lines: list[Line] | tuple[Line, ...]) -> Receipt:
    return Receipt(store="central", at=AT, time_zone="Europe/Moscow", lines=tuple(lines))


def price(
    lines: list[Line] | tuple[Line, ...],
    member: MemberState | None = MEMBER,
    program: Program = DEFAULT,
    redeem: Redeem = 0,
) -> Quote:
    return quote(receipt(lines), member, program, redeem)


def english(q: Quote) -> list[str]:
    with translation.override("en"):
        return q.explanation()


def earn_per_line(payables: list[int], program: Program = DEFAULT) -> list[int]:
    """Points per line for lines whose amounts are the payables (nothing redeemed)."""
    return [line.earn_points for line in price([item(p) for p in payables], program=program).lines]


# --- worked examples -----------------------------------------------------------------------------


def test_thousand_rouble_receipt_earns_five_percent():
    # given a 1,000.00 ₽ receipt of two lines and the default 5 % program
    lines = [item(60000, sku="A"), item(40000, sku="B")]
    # when nothing is redeemed
    q = price(lines, redeem=0)
    # then 50 points are earned, 30 and 20 per line, and they are available at once
    assert (q.amount, q.discount, q.payable, q.earn_points) == (100000, 0, 100000, 50)
    assert [line.earn_points for line in q.lines] == [30, 20]
    assert [line.discount for line in q.lines] == [0, 0]
    assert (q.available_after, q.pending_after) == (550, 0)
    assert (q.program_version, q.point_value) == (0, 100)


def test_redeem_max_is_capped_at_thirty_percent():
    # given the same receipt and a member with 500 points
    lines = [item(60000, sku="A"), item(40000, sku="B")]
    # when the member redeems as much as allowed
    q = price(lines, redeem="max")
    # then 300 points pay 300.00 ₽, 700.00 ₽ is paid and earns 35 points
    assert (q.max_redeemable, q.redeem_points, q.payable, q.earn_points) == (300, 300, 70000, 35)
    assert [(line.redeem_points, line.payable) for line in q.lines] == [(180, 42000), (120, 28000)]
    assert q.available_after == 500 - 300 + 35
    assert english(q)[:2] == [
        "300 points pay 300.00 ₽ of this receipt.",
        "At most 30% of a receipt can be paid with points: up to 300 points here.",
    ]


def test_redeem_exactly_the_limit_or_the_balance_is_allowed():
    lines = [item(60000), item(40000)]
    # 300 points: exactly 30 % of 1,000 ₽
    assert price(lines, redeem=300).redeem_points == 300
    # 120 points: exactly what the member has, under the limit
    member = MemberState(member_id=1, available=120, pending=0)
    assert price(lines, member, redeem=120).redeem_points == 120


def test_redeem_one_point_over_the_limit_is_refused():
    lines = [item(60000), item(40000)]
    with pytest.raises(RedeemLimitExceeded) as exc:
        price(lines, redeem=301)
    assert exc.value.code == "redeem_limit_exceeded"
    assert exc.value.params == {"max_redeemable": 300, "requested": 301}
    with translation.override("en"):
        assert exc.value.explain() == "At most 300 points can pay for this receipt, 301 asked."


def test_redeem_more_than_available_is_insufficient_before_the_limit():
    # 600 is over both the balance (500) and the limit (300): the balance is the answer
    with pytest.raises(InsufficientPoints) as exc:
        price([item(60000), item(40000)], redeem=600)
    assert exc.value.code == "insufficient_points"
    assert exc.value.params == {"available": 500, "requested": 600}
    with translation.override("en"):
        assert exc.value.explain() == "Not enough points: 500 available, 600 asked."


@pytest.mark.parametrize(
    ("unit_price", "quantity", "amount"),
    [
        (9999, "0.333", 3330),  # 3329.667
        (9997, "0.5", 4999),  # 4998.5: half-up, where banker's rounding would give 4998
        (12345, "2", 24690),
        (1, "0.499", 0),
    ],
)
def test_line_amount_rounds_half_up_to_a_kopeck(unit_price, quantity, amount):
    assert line_amount(item(unit_price, quantity)) == amount
    assert price([item(unit_price, quantity)]).lines[0].amount == amount


def test_tiny_lines_cannot_redeem_more_than_whole_roubles():
    # given ten 0.99 ₽ lines: 30 % of 9.90 ₽ would be 2 points, but no line has a whole rouble
    lines = [item(99, sku=f"T{i}") for i in range(10)]
    q = price(lines, redeem="max")
    assert (q.amount, q.max_redeemable, q.redeem_points) == (990, 0, 0)
    # The one-row program said "whole roubles"; a point may be worth other than a rouble now.
    assert "Points pay only whole point values of each item: up to 0 points here." in english(q)
    with pytest.raises(RedeemLimitExceeded):
        price(lines, redeem=1)


def test_capped_lines_pass_their_share_to_the_line_with_room():
    # given three 0.50 ₽ lines and a 10.00 ₽ line, and points allowed to pay the whole receipt
    lines = [item(50), item(50), item(50), item(1000)]
    q = price(lines, program=Program(redeem_max_percent=Decimal(100)), redeem="max")
    # then only the 10.00 ₽ line can take points, and it takes all ten
    assert [line.redeem_points for line in q.lines] == [0, 0, 0, 10]
    assert [line.payable for line in q.lines] == [50, 50, 50, 0]


def test_no_member_earns_nothing_and_cannot_redeem():
    lines = [item(60000), item(40000)]
    q = price(lines, None, redeem="max")
    assert (q.earn_points, q.max_redeemable, q.redeem_points, q.payable) == (0, 0, 0, 100000)
    assert (q.available_after, q.pending_after) == (0, 0)
    assert q.effects == ()
    assert english(q) == ["No member card: no points are earned."]
    with pytest.raises(NoMemberToRedeem) as exc:
        price(lines, None, redeem=1)
    assert exc.value.code == "member_required"


def test_explanation_of_a_990_rouble_receipt_with_pending_points():
    # given a 990.00 ₽ receipt, 500 points, and points that wait 14 days
    q = price([item(99000)], program=Program(pending_days=14), redeem=0)
    # then 49 points go to pending, and every figure is explained
    assert (q.earn_points, q.available_after, q.pending_after) == (49, 500, 49)
    assert english(q) == [
        "At most 30% of a receipt can be paid with points: up to 297 points here.",
        "You earn 49 points: 5% of 990.00 ₽ paid.",
        "The points become available in 14 days.",
        "Points are valid for 365 days.",
        "Balance after this receipt: 500 points available, 49 pending.",
    ]


def test_a_receipt_below_one_point_says_why_nothing_is_earned():
    program = Program(earn_percent=Decimal("2.5"))
    q = price([item(1999)], MemberState(1, available=0, pending=0), program, 0)
    assert q.earn_points == 0
    assert q.effects == ()
    assert english(q) == [
        "You earn no points: 2.5% of 19.99 ₽ paid is less than one point.",
        "Balance after this receipt: 0 points available.",
    ]


def test_earn_ties_go_to_the_earlier_line():
    # two lines of 39.80 ₽ each earn 1.99 points ideally; 3.98 floors to 3, the extra goes first
    assert earn_per_line([3980, 3980]) == [2, 1]
    # a line never drops below the floor of its own share, even next to small lines
    assert earn_per_line([4000, 1800]) == [2, 0]


def test_the_spare_point_goes_to_the_largest_remainder_wherever_it_stands():
    # 39.70 ₽ and 39.90 ₽ earn 1.985 and 1.995 points ideally; 3.98 floors to 3, and the
    # spare point goes to the second line, whose remainder (0.995) is the larger
    assert earn_per_line([3970, 3990]) == [1, 2]
    assert earn_per_line([3990, 3970]) == [2, 1]
    # shares 1.1, 1.9, 1.5, 1.5 of 6: two spare units, to 0.9 and the first 0.5, never to 0.1
    assert earn_per_line([2200, 3800, 3000, 3000]) == [1, 2, 2, 1]
    assert spread(6, [11, 19, 15, 15]) == [1, 2, 2, 1]


@pytest.mark.parametrize(
    ("kopecks", "text"), [(123450, "1234.50"), (-5, "-0.05"), (0, "0.00"), (100, "1.00")]
)
def test_format_money(kopecks, text):
    assert format_rubles(kopecks) == text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"quantity": Decimal(0)}, ValueError),
        ({"quantity": Decimal("NaN")}, ValueError),
        ({"quantity": 0.5}, ValueError),
        ({"price": -1}, ValueError),
    ],
)
def test_bad_lines_are_refused(kwargs, error):
    fields = {"sku": "S", "name": "S", "category": "c", "quantity": Decimal(1), "price": 100}
    with pytest.raises(error):
        Line(**{**fields, **kwargs})


def test_bad_redeem_values_are_programming_errors():
    with pytest.raises(ValueError):
        price([item(100)], redeem=-1)
    with pytest.raises(TypeError):
        price([item(100)], redeem="all")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        price([item(100)], redeem=True)  # a bool is not a number of points


# --- properties ----------------------------------------------------------------------------------

prices = st.one_of(st.integers(0, 300), st.integers(0, 5_000_000))  # tiny lines matter for caps
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3)
lines_st = st.lists(st.builds(item, prices, quantities.map(str)), min_size=1, max_size=12)
members = st.one_of(
    st.none(),
    st.builds(MemberState, st.integers(1, 10**6), st.integers(0, 100_000), st.integers(0, 10_000)),
)
percents = st.decimals(min_value=0, max_value=100, places=2)
programs = st.builds(
    Program,
    point_value=st.sampled_from([100, 100, 50, 1, 1000]),
    earn_percent=st.decimals(min_value=0, max_value=30, places=2),
    redeem_max_percent=percents,
    pending_days=st.integers(0, 30),
    expiry_days=st.integers(1, 730),
)
PROPERTY = hsettings(max_examples=200, deadline=None)


@st.composite
def receipts(draw):
    """Lines, a member or none, a points program, and a redeem it allows (or "max")."""
    lines, member, program = draw(lines_st), draw(members), draw(programs)
    ceiling = price(lines, member, program, "max").max_redeemable
    redeem = draw(st.one_of(st.just("max"), st.just(ceiling), st.integers(0, ceiling)))
    return lines, member, program, redeem


@PROPERTY
@given(receipts())
def test_per_line_figures_add_up_to_the_receipt(case):
    _lines, _member, program, _redeem = case
    q = price(*case)
    pv = program.point_value
    assert sum(line.amount for line in q.lines) == q.amount
    assert sum(line.redeem_points for line in q.lines) == q.redeem_points
    assert sum(line.payable for line in q.lines) == q.payable
    assert sum(line.earn_points for line in q.lines) == q.earn_points
    assert q.discount == 0  # the points mode without rules gives no discount
    assert q.payable == q.amount - q.redeem_points * pv
    for line in q.lines:
        assert line.payable == line.amount - line.redeem_points * pv
        assert line.payable >= 0
        assert line.redeem_points >= 0


@PROPERTY
@given(receipts())
def test_redeem_stays_within_limits_and_balance(case):
    _lines, member, program, _redeem = case
    q = price(*case)
    assert 0 <= q.redeem_points <= q.max_redeemable
    if member is None:
        assert q.max_redeemable == q.earn_points == 0
    else:
        assert q.max_redeemable <= member.available
        limit = q.amount * program.redeem_max_percent / 100
        assert q.max_redeemable * program.point_value <= limit


@PROPERTY
@given(receipts())
def test_earn_is_the_floored_rate_and_each_line_gets_floor_or_floor_plus_one(case):
    _lines, member, program, _redeem = case
    q = price(*case)
    rate = Fraction(program.earn_percent) / (100 * program.point_value)
    if member is not None:
        assert q.earn_points == int(q.payable * rate)
    assert q.earn_points <= q.payable * rate
    for line in q.lines:
        floor = int(line.payable * rate)
        assert line.earn_points in ((floor, floor + 1) if member else (0,))


def assert_largest_remainders_first(
    parts: list[int], ideals: list[Fraction], caps: list[int] | None
) -> None:
    """A part got more above its floor than another only if its remainder is at least the
    other's (and, on equal remainders, it comes first), unless the other had no room left."""
    wholes = [int(x) for x in ideals]
    rests = [x - w for x, w in zip(ideals, wholes, strict=True)]
    extra = [part - whole for part, whole in zip(parts, wholes, strict=True)]
    for i, rest_i in enumerate(rests):
        assert extra[i] >= 0
        for j, rest_j in enumerate(rests):
            if extra[i] <= extra[j] or (caps is not None and parts[j] >= caps[j]):
                continue
            assert (-rest_i, i) < (-rest_j, j), (
                f"part {i} (remainder {rest_i}) got a unit that part {j} "
                f"(remainder {rest_j}, with room) did not: {parts}"
            )


@st.composite
def spread_cases(draw):
    """A total to split by integer weights, and maybe caps with room enough for it."""
    weights = draw(st.lists(st.integers(0, 50_000), min_size=1, max_size=12))
    if sum(weights) == 0:
        weights[0] = 1
    total = draw(st.integers(0, 5_000))
    caps = None
    if draw(st.booleans()):
        floors = [total * w // sum(weights) for w in weights]
        caps = [f + draw(st.integers(0, 3)) for f in floors]
        total = min(total, sum(caps))
        caps = [max(c, total * w // sum(weights)) for c, w in zip(caps, weights, strict=True)]
    return total, weights, caps


@hsettings(max_examples=300, deadline=None)
@given(spread_cases())
def test_apportion_gives_spare_units_to_the_largest_remainders(case):
    """`spread` is the largest-remainder apportionment by integer weights."""
    total, weights, caps = case
    parts = spread(total, weights, caps)
    assert sum(parts) == total
    if caps is not None:
        assert all(p <= c for p, c in zip(parts, caps, strict=True))
    ideals = [Fraction(total * w, sum(weights)) for w in weights]
    assert_largest_remainders_first(parts, ideals, caps)


@PROPERTY
@given(receipts())
def test_per_line_redeem_and_earn_favour_the_largest_remainders(case):
    _lines, member, program, _redeem = case
    q = price(*case)
    pv = program.point_value
    caps = [line.amount // pv for line in q.lines]
    # points spread over the lines that can take a whole point, by their amounts
    weights = [line.amount if cap else 0 for line, cap in zip(q.lines, caps, strict=True)]
    if q.redeem_points:
        assert_largest_remainders_first(
            [line.redeem_points for line in q.lines],
            [Fraction(q.redeem_points * w, sum(weights)) for w in weights],
            caps,
        )
    if member is not None:
        rate = Fraction(program.earn_percent) / (100 * pv)
        assert_largest_remainders_first(
            [line.earn_points for line in q.lines], [line.payable * rate for line in q.lines], None
        )


@PROPERTY
@given(receipts())
def test_balances_after_follow_redeem_and_earn(case):
    _lines, member, program, _redeem = case
    q = price(*case)
    if member is None:
        assert (q.available_after, q.pending_after) == (0, 0)
    elif program.pending_days:
        assert q.available_after == member.available - q.redeem_points
        assert q.pending_after == member.pending + q.earn_points
    else:
        assert q.available_after == member.available - q.redeem_points + q.earn_points
        assert q.pending_after == member.pending


@PROPERTY
@given(receipts())
def test_quote_is_deterministic_and_explained(case):
    lines, member, program, redeem = case
    q = price(*case)
    assert price(list(lines), member, program, redeem) == q
    assert price(tuple(lines), member, program, redeem) == q
    texts = english(q)
    assert texts and all(isinstance(t, str) and t.strip() for t in texts)
    assert all("%(" not in t for t in texts)


@PROPERTY
@given(lines_st, members.filter(lambda m: m is not None), programs, st.integers(1, 1000))
def test_asking_for_too_much_names_the_right_limit(lines, member, program, extra):
    ceiling = price(lines, member, program, "max").max_redeemable
    requested = ceiling + extra
    expected = InsufficientPoints if requested > member.available else RedeemLimitExceeded
    with pytest.raises(QuoteError) as exc:
        price(lines, member, program, requested)
    assert type(exc.value) is expected
    assert exc.value.params["requested"] == requested
