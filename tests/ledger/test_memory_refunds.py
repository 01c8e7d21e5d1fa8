"""The in-memory ledger on its own: a refund expires with the latest lot that paid, as in the
database (`ledger.state.redeemed_until`)."""

from datetime import UTC, datetime, timedelta

from kopilka.ledger.memory import MemoryLedger
from kopilka.ledger.plan import Plan, plan_purchase, plan_return
from kopilka.program.engine import Grant, Program, Spend

AT = datetime(2026, 1, 5, 10, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_refund_spent_from_two_lots_expires_with_the_later_one() -> None:
    ledger = MemoryLedger()

    def buy(purchase_id: int, effects: list[Grant | Spend], at: datetime) -> None:
        plan = plan_purchase(
            member_id=1,
            purchase_id=purchase_id,
            effects=effects,
            lots=ledger.open_lots(1),
            at=at,
            actor_label="test",
        )
        ledger.apply(plan)

    # given 30 points that expire on day 20 and 30 that expire on day 60
    buy(1, [Grant(30, AT, AT + 20 * DAY)], AT)
    buy(2, [Grant(30, AT, AT + 60 * DAY)], AT)
    # when a purchase pays 50 points (30 from the first lot, 20 from the second) and comes back
    buy(3, [Spend(50)], AT + DAY)
    assert ledger.redeemed_until(3) == AT + 60 * DAY
    plan, taken = plan_return(
        member_id=1,
        purchase_id=3,
        return_id=1,
        take_back=0,
        refund=50,
        lots=ledger.purchase_lots(1, 3),
        paid_until=ledger.redeemed_until(3),
        program=Program(),
        time_zone="Europe/Moscow",
        at=AT + 2 * DAY,
        actor_label="test",
    )
    ledger.apply(plan)
    # then the 50 refunded points expire on day 60, with the later lot
    refund = ledger.rows["lot"][-1]
    assert (taken, refund["points"], refund["remaining"]) == (0, 50, 50)
    assert refund["expires_at"] == AT + 60 * DAY


def test_a_second_return_takes_back_from_its_own_refund_first() -> None:
    ledger = MemoryLedger()

    def apply(plan: Plan) -> None:
        ledger.apply(plan)

    def give_back(return_id: int, at: datetime) -> None:
        plan, _taken = plan_return(
            member_id=1,
            purchase_id=2,
            return_id=return_id,
            take_back=10,
            refund=20,
            lots=ledger.purchase_lots(1, 2),
            paid_until=ledger.redeemed_until(2),
            program=Program(),
            time_zone="Europe/Moscow",
            at=at,
            actor_label="test",
        )
        apply(plan)

    # given a purchase that paid 40 points and earned 20, and another that spent those 20
    apply(plan_purchase(member_id=1, purchase_id=1, effects=[Grant(40, AT, AT + 300 * DAY)],
                        lots=[], at=AT, actor_label="test"))  # fmt: skip
    apply(plan_purchase(member_id=1, purchase_id=2,
                        effects=[Spend(40), Grant(20, AT + DAY, AT + 360 * DAY)],
                        lots=ledger.open_lots(1), at=AT + DAY, actor_label="test"))  # fmt: skip
    apply(plan_purchase(member_id=1, purchase_id=3, effects=[Spend(20)],
                        lots=ledger.open_lots(1), at=AT + 2 * DAY, actor_label="test"))  # fmt: skip
    # when it comes back in two halves: 20 refunded and 10 taken back each time
    give_back(1, AT + 3 * DAY)
    give_back(2, AT + 4 * DAY)
    # then each half took its 10 from its own refund: the first refund keeps 10
    refunds = ledger.rows["lot"][-2:]
    assert [(lot["points"], lot["remaining"]) for lot in refunds] == [(20, 10), (20, 10)]
