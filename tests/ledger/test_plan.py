"""The ledger's planner (`ledger.plan`) on its own: plain lots in, the rows to write out. Cases
the database tests reach only through a program change or a rare order of events."""

from datetime import UTC, datetime, timedelta

from kopilka.ledger.plan import OpenLot, plan_return
from kopilka.program.engine import Program

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_return_takes_other_available_points_before_pending_ones() -> None:
    # given the purchase's own points already spent, and two lots of other purchases: one
    # available that expires late, one still pending that expires sooner (the program's expiry
    # was shortened between the two)
    available = OpenLot(1, 10, AT - 9 * DAY, AT + 300 * DAY, purchase_id=5)
    pending = OpenLot(2, 10, AT + 2 * DAY, AT + 20 * DAY, purchase_id=6)
    # when the return takes back 5 points
    plan, taken = plan_return(
        member_id=1,
        purchase_id=7,
        return_id=1,
        take_back=5,
        refund=0,
        lots=[pending, available],
        paid_until=None,
        program=Program(),
        time_zone="Europe/Moscow",
        at=AT,
        actor_label="test",
    )
    # then they come from the available lot: pending points are taken last
    assert taken == 5
    assert [(take.lot, take.points) for take in plan.takes] == [(1, 5)]
