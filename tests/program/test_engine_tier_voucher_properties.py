"""Hypothesis properties of tiers and vouchers, on the random receipts, members and programs of
test_engine_properties.py. No database (see test_engine_modes.py for how to run without it)."""

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kopilka.program.engine import (
    Program,
    Tier,
    TierReached,
    VoucherNotApplicable,
    VoucherTerms,
    VoucherUse,
    quote,
)
from tests.program.test_engine_properties import PROPERTY, cases

TIERS = st.lists(
    st.tuples(
        st.integers(1, 2_000_000),  # qualify spend step, kopecks
        st.sampled_from([Decimal(1), Decimal("1.5"), Decimal(2)]),
        st.sampled_from([None, Decimal(10), Decimal(50)]),
        st.sampled_from([Decimal(0), Decimal(5)]),
    ),
    min_size=1,
    max_size=3,
)
KINDS = st.sampled_from(["free_product", "fixed_discount", "percent_discount", "gift"])


def tiered(program: Program, steps: list[tuple[int, Decimal, Decimal | None, Decimal]]) -> Program:
    spend, tiers = 0, []
    for n, (step, multiplier, cap, discount) in enumerate(steps):
        spend += step
        tiers.append(Tier(f"t{n}", f"T{n}", spend, multiplier, cap, discount))
    return replace(program, tiers=tuple(tiers))


@PROPERTY
@given(cases(), TIERS, st.integers(0, 6_000_000), st.integers(0, 3))
def test_a_tier_is_reached_exactly_when_the_spend_crosses_a_higher_threshold(
    case, steps, window_spend, held
):
    receipt, member, program, _redeem = case
    if member is None:
        return
    program = tiered(program, steps)
    tier = program.tiers[held].code if held < len(program.tiers) else ""
    member = replace(member, tier=tier, window_spend=window_spend)
    q = quote(receipt, member, program, 0)
    after = window_spend + q.amount - q.discount
    current = program.tier(tier)
    higher = [
        t
        for t in program.tiers
        if t.qualify_spend <= after and (current is None or t.qualify_spend > current.qualify_spend)
    ]
    reached = [e for e in q.effects if isinstance(e, TierReached)]
    assert [e.tier for e in reached] == ([higher[-1].code] if higher else [])
    # the figures are never negative and the payable adds up, whatever the tier
    assert q.payable == q.amount - q.discount - q.redeem_points * q.point_value >= 0
    assert all(line.earn_points >= 0 for line in q.lines)


@PROPERTY
@given(cases(), st.lists(st.tuples(KINDS, st.integers(1, 50_000), st.integers(0, 4)), max_size=3))
def test_vouchers_only_ever_take_money_off_and_never_off_excluded_lines(case, specs):
    receipt, member, program, _redeem = case
    if member is None or not receipt.lines:
        return
    vouchers = tuple(
        VoucherTerms(
            code=f"V{n}",
            name=f"V{n}",
            kind=kind,
            sku=receipt.lines[pick % len(receipt.lines)].sku,
            category=receipt.lines[pick % len(receipt.lines)].category,
            amount=amount,
            percent=Decimal(amount % 100 + 1),
        )
        for n, (kind, amount, pick) in enumerate(specs)
    )
    plain = quote(receipt, member, program, 0)
    try:
        q = quote(replace(receipt, vouchers=vouchers), member, program, 0)
    except VoucherNotApplicable:
        return  # nothing left to take off for one of them: refused as a whole
    assert [e.code for e in q.effects if isinstance(e, VoucherUse)] == [v.code for v in vouchers]
    for line, before in zip(q.lines, plain.lines, strict=True):
        assert line.discount >= before.discount
        assert line.payable >= 0
    for line, source in zip(q.lines, receipt.lines, strict=True):
        if program.excluded(source.category, "discount"):
            assert line.discount == 0
    assert q.discount <= q.amount  # never more than the receipt
