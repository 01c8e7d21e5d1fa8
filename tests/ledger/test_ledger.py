from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.ledger import services as ledger
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import LotSpend, PointLot, Transfer
from kopilka.ledger.plan import ADJUST, ADJUSTMENT, MEMBER, Plan, plan_transfer
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.program.engine import Program
from tests.conftest import assert_ledger_clean, enroll, points_move

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
JAN_10 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def earn(member: Member, points: int, at: datetime, program: Program | None = None) -> Transfer:
    (transfer_id,) = points_move(member.pk, earn=points, at=at, program=program)
    return Transfer.objects.get(pk=transfer_id)


def redeem(member: Member, points: int, at: datetime) -> Transfer:
    (transfer_id,) = points_move(member.pk, spend=points, at=at)
    return Transfer.objects.get(pk=transfer_id)


@pytest.fixture
def staff():
    return Actor.staff(get_user_model().objects.create_user("manager", password="x", is_staff=True))


def test_points_expire_at_the_end_of_the_last_valid_business_day() -> None:
    member = enroll()
    earn(member, 10, JAN_10, Program(expiry_days=365))
    lot = PointLot.objects.get()
    # 10 January 2026 + 365 days = 10 January 2027; valid through that day, Moscow time
    assert lot.expires_at == datetime(2027, 1, 10, 21, 0, tzinfo=UTC)


def test_spending_takes_the_soonest_expiring_points_first() -> None:
    member = enroll()
    later = earn(member, 50, JAN_10, Program(expiry_days=300))
    sooner = earn(member, 30, JAN_10 + timedelta(days=1), Program(expiry_days=30))
    spend = redeem(member, 40, JAN_10 + timedelta(days=2))
    taken = {s.lot.transfer_id: s.points for s in LotSpend.objects.filter(transfer=spend)}
    assert taken == {sooner.pk: 30, later.pk: 10}
    assert_ledger_clean()


def test_pending_points_cannot_be_spent_until_available() -> None:
    member = enroll()
    earn(member, 100, JAN_10, Program(pending_days=14))
    assert member_balance(member.pk, JAN_10 + timedelta(days=1)).pending == 100
    assert member_balance(member.pk, JAN_10 + timedelta(days=1)).available == 0
    with pytest.raises(ledger.InsufficientPoints):
        redeem(member, 1, JAN_10 + timedelta(days=1))
    assert member_balance(member.pk, JAN_10 + timedelta(days=15)).available == 100
    redeem(member, 100, JAN_10 + timedelta(days=15))
    assert_ledger_clean()


def test_pending_points_become_available_at_midnight_after_the_pending_days() -> None:
    # given 100 points earned at noon on 10 January (Moscow) that wait 14 days
    member = enroll()
    earn(member, 100, JAN_10, Program(pending_days=14))
    lot = PointLot.objects.get()
    # then they are available from the start of 24 January, Moscow time, not a moment earlier
    assert lot.available_at == datetime(2026, 1, 23, 21, 0, tzinfo=UTC)
    before = member_balance(member.pk, lot.available_at - timedelta(seconds=1))
    assert (before.available, before.pending) == (0, 100)
    assert member_balance(member.pk, lot.available_at).available == 100
    redeem(member, 100, lot.available_at)
    assert_ledger_clean()


def test_points_earned_without_a_pending_period_are_spendable_at_once() -> None:
    member = enroll()
    earn(member, 40, JAN_10)
    balance = member_balance(member.pk, JAN_10)
    assert (balance.available, balance.pending) == (40, 0)
    redeem(member, 40, JAN_10)
    assert_ledger_clean()


def test_at_the_moment_of_expiry_points_are_gone_everywhere() -> None:
    # given 10 points whose last valid day ends at `expires`
    member = enroll()
    earn(member, 10, JAN_10, Program(expiry_days=30))
    expires = PointLot.objects.get().expires_at
    # a second before, they count and can be spent
    assert member_balance(member.pk, expires - timedelta(seconds=1)).available == 10
    # at that very moment they neither count nor pay, and the expiry run takes them
    assert member_balance(member.pk, expires).available == 0
    assert member_balance(member.pk, expires).expiring == []
    with pytest.raises(ledger.InsufficientPoints):
        redeem(member, 1, expires)
    assert ledger.points_expire_due(actor=SYSTEM, at=expires) == {"members": 1, "points": 10}
    assert_ledger_clean()


def test_a_transfer_whose_postings_do_not_balance_is_refused() -> None:
    with pytest.raises(ledger.LedgerInvariantError):
        plan_transfer(ADJUST, [(MEMBER, 5), (ADJUSTMENT, -4)])
    assert not Transfer.objects.exists()


def test_a_debit_cannot_take_pending_points(staff: Actor) -> None:
    # given 30 available points and 50 still pending
    member = enroll()
    earn(member, 30, JAN_10)
    earn(member, 50, JAN_10, Program(pending_days=7))
    with clock.frozen_at(JAN_10 + timedelta(hours=1)):
        # when staff take back 31 points, more than are available
        with pytest.raises(ledger.InsufficientPoints):
            ledger.points_adjust(member_id=member.pk, points=-31, reason="error", actor=staff)
        ledger.points_adjust(member_id=member.pk, points=-30, reason="error", actor=staff)
        # then only available points were taken; the pending 50 are untouched
        balance = member_balance(member.pk)
    assert (balance.available, balance.pending) == (0, 50)
    assert PointLot.objects.get(points=50).remaining == 50
    assert_ledger_clean()


def test_expiry_is_a_transfer_and_runs_once() -> None:
    member = enroll()
    earn(member, 70, JAN_10, Program(expiry_days=30))
    earn(member, 5, JAN_10 + timedelta(days=20), Program(expiry_days=365))
    redeem(member, 20, JAN_10 + timedelta(days=21))  # takes from the 70 that expire first
    after_expiry = JAN_10 + timedelta(days=40)
    assert ledger.points_expire_due(actor=SYSTEM, at=after_expiry) == {"members": 1, "points": 50}
    assert ledger.points_expire_due(actor=SYSTEM, at=after_expiry) == {"members": 0, "points": 0}
    assert Transfer.objects.get(kind=Transfer.Kind.EXPIRE).points == -50
    member.refresh_from_db()
    assert member.points_balance == 5
    assert_ledger_clean()


def test_expired_but_unprocessed_points_are_not_available() -> None:
    member = enroll()
    earn(member, 70, JAN_10, Program(expiry_days=1))
    assert member_balance(member.pk, JAN_10 + timedelta(days=5)).available == 0


def test_adjustment_needs_a_staff_user_and_a_reason(staff: Actor) -> None:
    member = enroll()
    with pytest.raises(DomainError):
        ledger.points_adjust(member_id=member.pk, points=10, reason="goodwill", actor=SYSTEM)
    with pytest.raises(DomainError):
        ledger.points_adjust(member_id=member.pk, points=10, reason="  ", actor=staff)
    transfer = ledger.points_adjust(
        member_id=member.pk, points=10, reason="Сломалась кофемашина", actor=staff
    )
    assert transfer.actor_label == "staff:manager"
    with pytest.raises(ledger.InsufficientPoints):
        ledger.points_adjust(member_id=member.pk, points=-11, reason="too much", actor=staff)
    ledger.points_adjust(member_id=member.pk, points=-4, reason="double accrual", actor=staff)
    assert member_balance(member.pk).available == 6
    assert_ledger_clean()


def test_adjust_points_command(staff: Actor) -> None:
    member = enroll()
    call_command(
        "adjust_points", member=member.pk, points=25, reason="welcome gift", staff="manager"
    )
    assert member_balance(member.pk).available == 25
    with pytest.raises(CommandError):
        call_command("adjust_points", member=member.pk, points=25, reason="x", staff="nobody")


def test_ledger_check_names_the_account_that_disagrees() -> None:
    member = enroll()
    earn(member, 10, clock.now())
    call_command("ledger_check")
    Member.objects.filter(pk=member.pk).update(points_balance=11)
    assert ledger_problems() == [f"member {member.pk}: cached balance 11, postings 10, lots 10"]
    with pytest.raises(CommandError):
        call_command("ledger_check")


def test_ledger_check_catches_a_tampered_lot() -> None:
    member = enroll()
    earn(member, 10, clock.now())
    PointLot.objects.update(remaining=9)
    problems = ledger_problems()
    assert any(p.startswith(f"member {member.pk}:") for p in problems)
    assert any(p.startswith("lot ") for p in problems)


@pytest.mark.django_db(transaction=True)
def test_building_blocks_refuse_to_run_outside_a_transaction() -> None:
    member = enroll()
    plan = Plan(member_id=member.pk, at=clock.now(), actor_label="test", spend_delta=1)
    with pytest.raises(AssertionError):
        plan_apply(plan)


def test_expire_points_command_prints_what_it_did() -> None:
    member = enroll()
    earn(member, 3, clock.now() - timedelta(days=400))
    call_command("expire_points")
    assert member_balance(member.pk).available == 0
    assert_ledger_clean()
