"""Hypothesis drives random sequences of purchases, returns, expiry and adjustments through the
real services and checks the ledger after each: postings sum to zero, cache = postings = lots,
FIFO by expiry, no balance below zero, and returns never give back more than the purchase moved.

Every call's outcome is checked against what the rules allow, worked out beforehand (a purchase's
redemption against the engine's ceiling on the balance of the moment, a return against what is
left of the line, a debit against the available points): a service that refused what it should
allow, or allowed what it should refuse, fails the history. Successes are counted too.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.ledger import services as ledger
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.models import LotSpend, PointLot, Transfer
from kopilka.ledger.selectors import member_points
from kopilka.pos import services as pos
from kopilka.pos.models import Purchase, PurchaseReturn, ReturnLine
from kopilka.pos.terminals import TerminalPrincipal, terminal_authenticate, terminal_create
from kopilka.program import engine
from kopilka.program.selectors import program_cache_clear, program_in_force
from kopilka.program.services import program_version_create
from tests.conftest import enroll

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

# What to redeem: "max", a number of points, or a percentage of what the rules allow at that
# moment (mostly allowed, sometimes exactly the ceiling, sometimes just over it).
redeem_st = st.one_of(
    st.just("max"), st.integers(0, 400), st.tuples(st.just("share"), st.integers(1, 120))
)
purchase_op = st.tuples(
    st.just("buy"),
    st.lists(
        st.tuples(
            st.integers(1, 3), st.one_of(st.integers(1, 200_000), st.integers(20_000, 200_000))
        ),
        min_size=1,
        max_size=3,
    ),
    redeem_st,
)
return_op = st.tuples(st.just("return"), st.integers(0, 50), st.integers(1, 3))
time_op = st.tuples(st.just("wait"), st.integers(1, 120))
# A credit or debit of a number of points, or a debit of a percentage of the available points.
adjust_op = st.one_of(
    st.tuples(st.just("adjust"), st.integers(-200, 200).filter(bool)),
    st.tuples(st.just("debit"), st.integers(1, 120)),
)
operations = st.lists(
    st.one_of(purchase_op, purchase_op, return_op, return_op, time_op, adjust_op),
    min_size=5,
    max_size=25,
)


def _terminal() -> TerminalPrincipal:
    _t, key = terminal_create(store_code="prop", actor=Actor.system("test"))
    principal = terminal_authenticate(key)
    assert principal is not None
    return principal


@dataclass
class Tally:
    """Attempts and successes per kind of operation, over every history hypothesis tries."""

    tried: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)

    def share(self, kind: str) -> float:
        return self.done[kind] / self.tried[kind] if self.tried[kind] else 0.0


def attempt(tally: Tally, kind: str, work: Callable[[], object], *, allowed: bool) -> bool:
    """Run one service call in a savepoint (a refused request rolls back alone, as over HTTP).

    `allowed` is what the rules say about the call, worked out beforehand from the balance and
    the purchase; a refusal of an allowed call, or an allowed call of a forbidden one, fails.
    """
    tally.tried[kind] += 1
    try:
        with transaction.atomic():
            work()
    except (DomainError, engine.QuoteError) as exc:
        assert not allowed, f"{kind} was refused though the rules allow it: {exc!r}"
        return False
    assert allowed, f"{kind} went through though the rules forbid it"
    tally.done[kind] += 1
    return True


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


KINDS = ("buy", "buy redeeming", "return", "adjust up", "adjust down")
# A history in which every kind of call goes through at least once, whatever hypothesis draws.
EVERY_KIND_SUCCEEDS: list[tuple] = [
    ("buy", [(1, 100_000)], 0),  # +50
    ("buy", [(2, 50_000)], 30),  # -30, +48
    ("return", 0, 1),  # the first purchase back: -50
    ("adjust", 50),
    ("adjust", -20),
    ("return", 1, 1),  # one of the two items: +15 refunded, -24 taken back
    ("wait", 40),
    ("buy", [(1, 30_000)], "max"),
]


def _state(member_id: int, at: datetime) -> engine.MemberState:
    available, pending = member_points(member_id, at)
    return engine.MemberState(member_id=member_id, available=available, pending=pending)


def _run_history(tally: Tally, ops: list[tuple], pending: int, expiry: int) -> None:
    sid = transaction.savepoint()
    try:
        staff = get_user_model().objects.create_user(f"s{id(ops)}", password="x", is_staff=True)
        with clock.frozen_at(START - timedelta(days=1)):
            program_version_create(
                actor=Actor.system("test"),
                document={"pending_days": pending, "expiry_days": expiry},
            )
        program_cache_clear()
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
                    priced = engine.Receipt("prop", now, "Europe/Moscow", lines)
                    ceiling = engine.quote(
                        priced, _state(member.pk, now), program_in_force(now), "max"
                    ).max_redeemable
                    redeem = (
                        max(1, ceiling * op[2][1] // 100) if isinstance(op[2], tuple) else op[2]
                    )
                    receipt = pos.ReceiptIn(
                        member=pos.MemberRef(member_id=member.pk),
                        store="prop",
                        lines=lines,
                        redeem=redeem,
                        receipt_number=str(receipts),
                    )
                    wanted = ceiling if redeem == "max" else redeem
                    kind = "buy redeeming" if wanted else "buy"
                    if attempt(
                        tally,
                        kind,
                        partial(pos.purchase_commit, seller=terminal.seller, receipt=receipt),
                        allowed=wanted <= ceiling,
                    ):
                        made = Purchase.objects.get(member=member, receipt_number=str(receipts))
                        assert made.redeem_points == wanted
                elif op[0] == "return":
                    purchases = list(Purchase.objects.filter(member=member).order_by("pk"))
                    if purchases:
                        purchase = purchases[op[1] % len(purchases)]
                        line = purchase.lines.order_by("position").first()
                        assert line is not None
                        returned = sum(
                            ReturnLine.objects.filter(purchase_line=line).values_list(
                                "quantity", flat=True
                            ),
                            Decimal(0),
                        )
                        request = [pos.ReturnRequestLine(sku=line.sku, quantity=Decimal(op[2]))]
                        attempt(
                            tally,
                            "return",
                            partial(
                                pos.purchase_return,
                                seller=terminal.seller,
                                purchase_id=purchase.pk,
                                lines=request,
                            ),
                            # the SKUs of a receipt here are distinct: one line to return from
                            allowed=op[2] <= line.quantity - returned,
                        )
                elif op[0] == "wait":
                    now += timedelta(days=op[1])
                    ledger.points_expire_due(actor=Actor.system("test"), at=now)
                else:
                    available = _state(member.pk, now).available
                    points = op[1] if op[0] == "adjust" else -max(1, available * op[1] // 100)
                    attempt(
                        tally,
                        "adjust up" if points > 0 else "adjust down",
                        partial(
                            ledger.points_adjust,
                            member_id=member.pk,
                            points=points,
                            reason="test",
                            actor=Actor.staff(staff),
                        ),
                        allowed=-points <= available,
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


@pytest.mark.django_db
def test_random_histories_keep_the_ledger_whole() -> None:
    tally = Tally()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=operations, pending=st.sampled_from([0, 7]), expiry=st.sampled_from([30, 365]))
    @example(ops=EVERY_KIND_SUCCEEDS, pending=0, expiry=365)
    def histories(ops: list[tuple], pending: int, expiry: int) -> None:
        _run_history(tally, ops, pending, expiry)

    histories()
    # then the histories moved points: each call was checked against the rules above; on top,
    # every kind of call went through several times (60 histories of 5 to 25 calls give dozens
    # of each; the explicit example alone gives one of each) and the calls the rules always
    # allow (a purchase without redemption, a credit) always did
    assert all(tally.done[kind] >= 5 for kind in KINDS), tally
    assert tally.share("buy") == tally.share("adjust up") == 1.0, tally
