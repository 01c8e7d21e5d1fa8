"""Hypothesis drives random sequences of purchases, returns, expiry and adjustments through the
real services and checks the ledger after each: postings sum to zero, cache = postings = lots,
FIFO by expiry, no balance below zero, and returns never give back more than the purchase moved."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger import services as ledger
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import LotSpend, PointLot, Transfer
from kopilka.pos import services as pos
from kopilka.pos.models import Purchase, PurchaseReturn
from kopilka.pos.terminals import TerminalPrincipal, terminal_authenticate, terminal_create
from kopilka.program import engine
from kopilka.program.selectors import rules_cache_clear
from kopilka.program.services import program_settings_update
from tests.conftest import enroll

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

purchase_op = st.tuples(
    st.just("buy"),
    st.lists(st.tuples(st.integers(1, 3), st.integers(1, 200_000)), min_size=1, max_size=3),
    st.one_of(st.just("max"), st.integers(0, 400)),
)
return_op = st.tuples(st.just("return"), st.integers(0, 50), st.integers(1, 3))
time_op = st.tuples(st.just("wait"), st.integers(1, 120))
adjust_op = st.tuples(st.just("adjust"), st.integers(-200, 200).filter(bool))
operations = st.lists(
    st.one_of(purchase_op, purchase_op, return_op, time_op, adjust_op), min_size=1, max_size=25
)


def _terminal() -> TerminalPrincipal:
    _t, key = terminal_create(store_code="prop", actor=Actor.system("test"))
    principal = terminal_authenticate(key)
    assert principal is not None
    return principal


def attempt(work, *expected: type[Exception]) -> None:
    """Run one service call in a savepoint: a refused request rolls back alone, as over HTTP."""
    try:
        with transaction.atomic():
            work()
    except expected:
        pass


def _check_fifo() -> None:
    """Every spend took from lots no later-expiring than any lot it skipped."""
    for transfer in Transfer.objects.filter(kind=Transfer.Kind.REDEEM):
        spent = LotSpend.objects.filter(transfer=transfer).select_related("lot")
        latest_used = max(s.lot.expires_at for s in spent)
        partially_used = {s.lot_id for s in spent}
        skipped_earlier = PointLot.objects.filter(
            member_id=transfer.member_id,
            expires_at__lt=latest_used,
            earned_at__lte=transfer.created_at,
            available_at__lte=transfer.created_at,
            expires_at__gt=transfer.created_at,
        ).exclude(pk__in=partially_used)
        for lot in skipped_earlier:
            spent_before = sum(
                s.points
                for s in LotSpend.objects.filter(
                    lot=lot, transfer__created_at__lte=transfer.created_at
                )
            )
            assert spent_before == lot.points, f"lot {lot.pk} was skipped while it still had points"


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, pending=st.sampled_from([0, 7]), expiry=st.sampled_from([30, 365]))
def test_random_histories_keep_the_ledger_whole(
    ops: list[tuple], pending: int, expiry: int
) -> None:
    sid = transaction.savepoint()
    try:
        staff = get_user_model().objects.create_user(f"s{id(ops)}", password="x", is_staff=True)
        program_settings_update(
            actor=Actor.system("test"), pending_days=pending, expiry_days=expiry
        )
        rules_cache_clear()
        terminal = _terminal()
        member = enroll(phone="+79161230000")
        now = START
        receipts = 0
        for op in ops:
            with clock.frozen_at(now):
                if op[0] == "buy":
                    receipts += 1
                    lines = tuple(
                        engine.Line(sku=f"S{i}", name="", category="", quantity=Decimal(q), price=p)
                        for i, (q, p) in enumerate(op[1])
                    )
                    receipt = pos.ReceiptIn(
                        member=pos.MemberRef(member_id=member.pk),
                        store="prop",
                        lines=lines,
                        redeem=op[2],
                        receipt_number=str(receipts),
                    )
                    attempt(
                        partial(pos.purchase_commit, terminal=terminal, receipt=receipt),
                        engine.QuoteError,
                    )
                elif op[0] == "return":
                    purchases = list(Purchase.objects.filter(member=member).order_by("pk"))
                    if purchases:
                        purchase = purchases[op[1] % len(purchases)]
                        line = purchase.lines.first()
                        assert line is not None
                        request = [pos.ReturnRequestLine(sku=line.sku, quantity=Decimal(op[2]))]
                        attempt(
                            partial(
                                pos.purchase_return,
                                terminal=terminal,
                                purchase_id=purchase.pk,
                                lines=request,
                            ),
                            pos.ReturnTooLarge,
                        )
                elif op[0] == "wait":
                    now += timedelta(days=op[1])
                    ledger.points_expire_due(actor=Actor.system("test"), at=now)
                else:
                    points = op[1]
                    attempt(
                        partial(
                            ledger.points_adjust,
                            member_id=member.pk,
                            points=points,
                            reason="test",
                            actor=Actor.staff(staff),
                        ),
                        ledger.InsufficientPoints,
                    )
            assert ledger_problems() == []
            member.refresh_from_db()
            assert member.points_balance >= 0
        for purchase in Purchase.objects.filter(member=member):
            returns = PurchaseReturn.objects.filter(purchase=purchase)
            assert (
                sum(r.earn_reversed + r.earn_not_recovered for r in returns) <= purchase.earn_points
            )
            assert sum(r.redeem_refunded for r in returns) <= purchase.redeem_points
        _check_fifo()
    finally:
        transaction.savepoint_rollback(sid)
