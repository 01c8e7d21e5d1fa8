"""The rules engine: worked examples a cashier can check by hand, then properties of any receipt.

No database: runs with or without pytest-django (`pytest tests/program -p no:django`).
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kopilka.program.engine import (
    BP,
    POINT_VALUE,
    InsufficientPoints,
    Line,
    MemberSnapshot,
    NoMemberToRedeem,
    Quote,
    QuoteError,
    RedeemLimitExceeded,
    Rules,
    _apportion,
    earn_for_payable,
    format_money,
    line_amount,
    quote,
)

if not settings.configured:  # run without pytest-django: gettext only needs i18n switched off
    settings.configure(USE_I18N=False)

pytestmark: list[pytest.MarkDecorator] = []

MEMBER = MemberSnapshot(member_id=1, available=500, pending=0)


def item(price: int, quantity: str = "1", sku: str = "SKU") -> Line:
    return Line(sku=sku, name=sku, category="grocery", quantity=Decimal(quantity), price=price)


def english(q: Quote) -> list[str]:
    with translation.override("en"):
        return q.explanation()


# --- worked examples -----------------------------------------------------------------------------


def test_thousand_rouble_receipt_earns_five_percent():
    # given a 1,000.00 ₽ receipt of two lines and the default 5 % program
    lines = [item(60000, sku="A"), item(40000, sku="B")]
    # when nothing is redeemed
    q = quote(lines, MEMBER, Rules(), redeem=0)
    # then 50 points are earned, 30 and 20 per line, and they are available at once
    assert (q.amount, q.payable, q.earn_points) == (100000, 100000, 50)
    assert [line.earn_points for line in q.lines] == [30, 20]
    assert (q.available_after, q.pending_after) == (550, 0)


def test_redeem_max_is_capped_at_thirty_percent():
    # given the same receipt and a member with 500 points
    lines = [item(60000, sku="A"), item(40000, sku="B")]
    # when the member redeems as much as allowed
    q = quote(lines, MEMBER, Rules(), redeem="max")
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
    assert quote(lines, MEMBER, Rules(), redeem=300).redeem_points == 300
    # 120 points: exactly what the member has, under the limit
    member = MemberSnapshot(member_id=1, available=120, pending=0)
    assert quote(lines, member, Rules(), redeem=120).redeem_points == 120


def test_redeem_one_point_over_the_limit_is_refused():
    lines = [item(60000), item(40000)]
    with pytest.raises(RedeemLimitExceeded) as exc:
        quote(lines, MEMBER, Rules(), redeem=301)
    assert exc.value.code == "redeem_limit_exceeded"
    assert exc.value.params == {"max_redeemable": 300, "requested": 301}


def test_redeem_more_than_available_is_insufficient_before_the_limit():
    # 600 is over both the balance (500) and the limit (300): the balance is the answer
    with pytest.raises(InsufficientPoints) as exc:
        quote([item(60000), item(40000)], MEMBER, Rules(), redeem=600)
    assert exc.value.code == "insufficient_points"
    assert exc.value.params == {"available": 500, "requested": 600}


@pytest.mark.parametrize(
    ("price", "quantity", "amount"),
    [
        (9999, "0.333", 3330),  # 3329.667
        (9997, "0.5", 4999),  # 4998.5: half-up, where banker's rounding would give 4998
        (12345, "2", 24690),
        (1, "0.499", 0),
    ],
)
def test_line_amount_rounds_half_up_to_a_kopeck(price, quantity, amount):
    assert line_amount(item(price, quantity)) == amount


def test_tiny_lines_cannot_redeem_more_than_whole_roubles():
    # given ten 0.99 ₽ lines: 30 % of 9.90 ₽ would be 2 points, but no line has a whole rouble
    lines = [item(99, sku=f"T{i}") for i in range(10)]
    q = quote(lines, MEMBER, Rules(), redeem="max")
    assert (q.amount, q.max_redeemable, q.redeem_points) == (990, 0, 0)
    assert "Points pay only whole roubles of each item: up to 0 points here." in english(q)
    with pytest.raises(RedeemLimitExceeded):
        quote(lines, MEMBER, Rules(), redeem=1)


def test_capped_lines_pass_their_share_to_the_line_with_room():
    # given three 0.50 ₽ lines and a 10.00 ₽ line, and points allowed to pay the whole receipt
    lines = [item(50), item(50), item(50), item(1000)]
    q = quote(lines, MEMBER, Rules(max_redeem_share_bp=10000), redeem="max")
    # then only the 10.00 ₽ line can take points, and it takes all ten
    assert [line.redeem_points for line in q.lines] == [0, 0, 0, 10]
    assert [line.payable for line in q.lines] == [50, 50, 50, 0]


def test_no_member_earns_nothing_and_cannot_redeem():
    lines = [item(60000), item(40000)]
    q = quote(lines, None, Rules(), redeem="max")
    assert (q.earn_points, q.max_redeemable, q.redeem_points, q.payable) == (0, 0, 0, 100000)
    assert (q.available_after, q.pending_after) == (0, 0)
    assert english(q) == ["No member card: no points are earned."]
    with pytest.raises(NoMemberToRedeem) as exc:
        quote(lines, None, Rules(), redeem=1)
    assert exc.value.code == "member_required"


def test_explanation_of_a_990_rouble_receipt_with_pending_points():
    # given a 990.00 ₽ receipt, 500 points, and points that wait 14 days
    q = quote([item(99000)], MEMBER, Rules(pending_days=14), redeem=0)
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
    q = quote([item(1999)], MemberSnapshot(1, available=0, pending=0), Rules(earn_rate_bp=250), 0)
    assert q.earn_points == 0
    assert english(q) == [
        "You earn no points: 2.5% of 19.99 ₽ paid is less than one point.",
        "Balance after this receipt: 0 points available.",
    ]


def test_earn_ties_go_to_the_earlier_line():
    # two lines of 39.80 ₽ each earn 1.99 points ideally; 3.98 floors to 3, the extra goes first
    assert earn_for_payable([3980, 3980], Rules()) == [2, 1]
    # a line never drops below the floor of its own share, even next to small lines
    assert earn_for_payable([4000, 1800], Rules()) == [2, 0]


def test_the_spare_point_goes_to_the_largest_remainder_wherever_it_stands():
    # 39.70 ₽ and 39.90 ₽ earn 1.985 and 1.995 points ideally; 3.98 floors to 3, and the
    # spare point goes to the second line, whose remainder (0.995) is the larger
    assert earn_for_payable([3970, 3990], Rules()) == [1, 2]
    assert earn_for_payable([3990, 3970], Rules()) == [2, 1]
    # shares 1.1, 1.9, 1.5, 1.5 of 6: two spare units, to 0.9 and the first 0.5, never to 0.1
    assert _apportion([11, 19, 15, 15], 10, 6) == [1, 2, 2, 1]


@pytest.mark.parametrize(
    ("kopecks", "text"), [(123450, "1234.50"), (-5, "-0.05"), (0, "0.00"), (100, "1.00")]
)
def test_format_money(kopecks, text):
    assert format_money(kopecks) == text


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
        quote([item(100)], MEMBER, Rules(), redeem=-1)
    with pytest.raises(TypeError):
        quote([item(100)], MEMBER, Rules(), redeem="all")  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------

prices = st.one_of(st.integers(0, 300), st.integers(0, 5_000_000))  # tiny lines matter for caps
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3)
lines_st = st.lists(st.builds(item, prices, quantities.map(str)), min_size=1, max_size=12)
members = st.one_of(
    st.none(),
    st.builds(
        MemberSnapshot, st.integers(1, 10**6), st.integers(0, 100_000), st.integers(0, 10_000)
    ),
)
rules_st = st.builds(
    Rules,
    earn_rate_bp=st.integers(0, 3000),
    max_redeem_share_bp=st.integers(0, BP),
    pending_days=st.integers(0, 30),
    expiry_days=st.integers(0, 730),
)
PROPERTY = hsettings(max_examples=300, deadline=None)


@st.composite
def receipts(draw):
    """A receipt, a member or none, rules, and a redeem the rules allow (or "max")."""
    lines, member, rules = draw(lines_st), draw(members), draw(rules_st)
    ceiling = quote(lines, member, rules, "max").max_redeemable
    redeem = draw(st.one_of(st.just("max"), st.just(ceiling), st.integers(0, ceiling)))
    return lines, member, rules, redeem


@PROPERTY
@given(receipts())
def test_per_line_figures_add_up_to_the_receipt(case):
    q = quote(*case)
    assert sum(line.amount for line in q.lines) == q.amount
    assert sum(line.redeem_points for line in q.lines) == q.redeem_points
    assert sum(line.payable for line in q.lines) == q.payable
    assert sum(line.earn_points for line in q.lines) == q.earn_points
    assert q.payable == q.amount - q.redeem_points * POINT_VALUE
    for line in q.lines:
        assert line.payable == line.amount - line.redeem_points * POINT_VALUE
        assert line.payable >= 0
        assert line.redeem_points >= 0


@PROPERTY
@given(receipts())
def test_redeem_stays_within_limits_and_balance(case):
    _lines, member, rules, _redeem = case
    q = quote(*case)
    assert 0 <= q.redeem_points <= q.max_redeemable
    if member is None:
        assert q.max_redeemable == q.earn_points == 0
    else:
        assert q.max_redeemable <= member.available
        assert q.max_redeemable * POINT_VALUE * BP <= q.amount * rules.max_redeem_share_bp


@PROPERTY
@given(receipts())
def test_earn_is_the_floored_rate_and_each_line_gets_floor_or_floor_plus_one(case):
    _lines, member, rules, _redeem = case
    q = quote(*case)
    if member is not None:
        assert q.earn_points == q.payable * rules.earn_rate_bp // 1_000_000
    assert q.earn_points * 1_000_000 <= q.payable * rules.earn_rate_bp
    for line in q.lines:
        floor = line.payable * rules.earn_rate_bp // 1_000_000
        assert line.earn_points in ((floor, floor + 1) if member else (0,))


def assert_largest_remainders_first(
    parts: list[int], numerators: list[int], denominator: int, caps: list[int] | None
) -> None:
    """A part got more above its floor than another only if its remainder is at least the
    other's (and, on equal remainders, it comes first), unless the other had no room left."""
    shares = [divmod(x, denominator) for x in numerators]
    extra = [part - whole for part, (whole, _rest) in zip(parts, shares, strict=True)]
    for i, (_whole_i, rest_i) in enumerate(shares):
        assert extra[i] >= 0
        for j, (_whole_j, rest_j) in enumerate(shares):
            if extra[i] <= extra[j] or (caps is not None and parts[j] >= caps[j]):
                continue
            assert (-rest_i, i) < (-rest_j, j), (
                f"part {i} (remainder {rest_i}) got a unit that part {j} "
                f"(remainder {rest_j}, with room) did not: {parts}"
            )


@st.composite
def apportion_cases(draw):
    """Numerators over a denominator, the floored total of their shares plus what caps allow."""
    denominator = draw(st.integers(1, 1000))
    numerators = draw(st.lists(st.integers(0, 50_000), min_size=1, max_size=12))
    floors = [x // denominator for x in numerators]
    caps = None
    if draw(st.booleans()):
        caps = [f + draw(st.integers(0, 3)) for f in floors]
    ceiling = sum(caps) if caps is not None else sum(floors) + len(floors)
    natural = min(sum(numerators) // denominator, ceiling)
    total = draw(st.integers(natural, ceiling)) if draw(st.booleans()) else natural
    return numerators, denominator, max(total, sum(floors)), caps


@hsettings(max_examples=500, deadline=None)
@given(apportion_cases())
def test_apportion_gives_spare_units_to_the_largest_remainders(case):
    numerators, denominator, total, caps = case
    parts = _apportion(numerators, denominator, total, caps)
    assert sum(parts) == total
    if caps is not None:
        assert all(p <= c for p, c in zip(parts, caps, strict=True))
    assert_largest_remainders_first(parts, numerators, denominator, caps)


@PROPERTY
@given(receipts())
def test_per_line_redeem_and_earn_favour_the_largest_remainders(case):
    _lines, member, rules, _redeem = case
    q = quote(*case)
    amounts = [line.amount for line in q.lines]
    if q.redeem_points:
        assert_largest_remainders_first(
            [line.redeem_points for line in q.lines],
            [q.redeem_points * a for a in amounts],
            q.amount,
            [a // POINT_VALUE for a in amounts],
        )
    if member is not None:
        assert_largest_remainders_first(
            [line.earn_points for line in q.lines],
            [line.payable * rules.earn_rate_bp for line in q.lines],
            BP * POINT_VALUE,
            None,
        )


@PROPERTY
@given(receipts())
def test_balances_after_follow_redeem_and_earn(case):
    _lines, member, rules, _redeem = case
    q = quote(*case)
    if member is None:
        assert (q.available_after, q.pending_after) == (0, 0)
    elif rules.pending_days:
        assert q.available_after == member.available - q.redeem_points
        assert q.pending_after == member.pending + q.earn_points
    else:
        assert q.available_after == member.available - q.redeem_points + q.earn_points
        assert q.pending_after == member.pending


@PROPERTY
@given(receipts())
def test_quote_is_deterministic_and_explained(case):
    lines, member, rules, redeem = case
    q = quote(*case)
    assert quote(list(lines), member, rules, redeem) == q
    assert quote(tuple(lines), member, rules, redeem) == q
    texts = english(q)
    assert texts and all(isinstance(t, str) and t.strip() for t in texts)
    assert all("%(" not in t for t in texts)


@PROPERTY
@given(lines_st, members.filter(lambda m: m is not None), rules_st, st.integers(1, 1000))
def test_asking_for_too_much_names_the_right_limit(lines, member, rules, extra):
    ceiling = quote(lines, member, rules, "max").max_redeemable
    requested = ceiling + extra
    expected = InsufficientPoints if requested > member.available else RedeemLimitExceeded
    with pytest.raises(QuoteError) as exc:
        quote(lines, member, rules, requested)
    assert type(exc.value) is expected
    assert exc.value.params["requested"] == requested
