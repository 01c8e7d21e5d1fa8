"""A member's books in the in-memory ledger answer the balance and the tier window's spend from
running figures (the replay asks for them on every purchase); the answers are always the ones
summed from the lots and the spend changes themselves, in whatever order things happen."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kopilka.ledger.memory import MemberBook
from kopilka.ledger.plan import OpenLot, points_of

START = datetime(2026, 1, 1, tzinfo=UTC)
hours = st.integers(min_value=0, max_value=24 * 400)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("lot"), st.integers(1, 500), hours, st.integers(0, 24 * 30), hours),
        st.tuples(st.just("take"), st.integers(0, 50), st.integers(1, 500)),
        st.tuples(st.just("spend"), hours, st.integers(-5000, 5000)),
        st.tuples(st.just("ask"), st.integers(0, 24 * 10), st.integers(0, 24 * 365)),
    ),
    max_size=60,
)


@given(steps)
def test_the_running_balance_and_window_are_the_summed_ones(steps: list[tuple[int, ...]]) -> None:
    book, now, next_id = MemberBook(), START, 1
    for step in steps:
        kind = step[0]
        if kind == "lot":
            _k, points, earned, pending, lasts = step
            at = START + timedelta(hours=earned)
            lot = OpenLot(
                next_id, points, at + timedelta(hours=pending), at + timedelta(hours=lasts)
            )
            book.lot_add(lot)
            book.balance += points
            next_id += 1
        elif kind == "take" and book.lots:
            _k, which, points = step
            lot = list(book.lots.values())[which % len(book.lots)]
            taken = min(points, lot.remaining)
            book.balance -= taken
            if lot.remaining - taken:
                book.lots[lot.id] = OpenLot(
                    lot.id, lot.remaining - taken, lot.available_at, lot.expires_at
                )
            else:
                del book.lots[lot.id]
        elif kind == "spend":
            _k, at_hours, delta = step
            book.spend_add(START + timedelta(hours=at_hours), delta)
        elif kind == "ask":
            _k, forward, window = step
            now += timedelta(hours=forward)  # the replay's clock only moves forward
            since = now - timedelta(hours=window)
            assert book.points(now) == points_of(book.lots.values(), now)
            assert book.window_spend(since) == sum(d for t, d in book.spends if t >= since)
