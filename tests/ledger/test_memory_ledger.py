"""The in-memory ledger (demo, what-if) and the database ledger reach the same balances, lots,
transfers and postings for the same random stream of purchases, returns and expiry runs: both
apply the same planner's plans with the same row builders."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.memory import MemoryLedger
from kopilka.ledger.models import PointLot, Posting, Transfer
from kopilka.ledger.plan import plan_expiry, plan_purchase, plan_return
from kopilka.ledger.services import points_expire_due
from kopilka.members.models import Member
from kopilka.pos import services as pos
from kopilka.pos.models import Purchase
from kopilka.pos.receipts import purchase_plan
from kopilka.pos.terminals import terminal_authenticate, terminal_create
from kopilka.program import engine
from kopilka.program.selectors import program_in_force
from tests.conftest import enroll, program_set

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
EXPIRY_ACTOR = "system:expire_points"
RULES = [
    {"code": "morning", "name": "Утро ×2", "when": {"time_to": "12:00"},
     "then": {"earn_multiplier": "2"}, "limit": {"per_member_per_day": 1}},
    {"code": "big", "name": "Большой чек", "when": {"min_receipt": "500.00"},
     "then": {"bonus_points": 7}},
]  # fmt: skip

buy = st.tuples(
    st.just("buy"),
    st.integers(0, 1),  # which member
    st.lists(st.integers(1_000, 120_000), min_size=1, max_size=3),  # line prices, kopecks
    st.sampled_from([0, "max", 5]),
    st.integers(0, 20),  # hours later
)
back = st.tuples(st.just("return"), st.integers(0, 40))
wait = st.tuples(st.just("wait"), st.integers(1, 40))
streams = st.lists(st.one_of(buy, buy, back, wait), min_size=3, max_size=14)


class MemoryShop:
    """The same stream through the engine, the planner and the in-memory applier (as the demo)."""

    def __init__(self, seller: Any, member_ids: list[int], enrolled: dict[int, datetime]) -> None:
        self.ledger = MemoryLedger()
        self.seller, self.enrolled = seller, enrolled
        self.purchases: dict[int, engine.Quote] = {}  # receipt number -> its quote

    def buy(
        self, number: int, member_id: int, lines: tuple[engine.Line, ...], redeem: Any, at: datetime
    ) -> None:
        store = self.seller.store
        state = self.ledger.state(
            member_id,
            receipt_at=at,
            time_zone=store.time_zone,
            at=at,
            enrolled_at=self.enrolled[member_id],
        )
        receipt = engine.Receipt(store.code, at, store.time_zone, lines)
        try:
            quote = engine.quote(receipt, state, program_in_force(at), redeem)
        except engine.QuoteError:
            return
        self.purchases[number] = quote
        lots = self.ledger.open_lots(member_id)
        self.ledger.apply(purchase_plan(self.seller, quote, member_id, number, lots, at))

    def give_back(self, number: int, member_id: int, at: datetime) -> None:
        quote = self.purchases[number]
        line = quote.lines[0]
        plan, _taken = plan_return(
            member_id=member_id,
            purchase_id=number,
            return_id=number,
            take_back=line.earn_points,
            refund=line.redeem_points,
            lots=self.ledger.purchase_lots(member_id, number),
            paid_until=self.ledger.redeemed_until(number),
            program=program_in_force(at),
            time_zone=self.seller.store.time_zone,
            at=at,
            actor_label=self.seller.actor.label,
            spend_delta=-(line.amount - line.discount),
        )
        self.ledger.apply(plan)

    def expire(self, at: datetime) -> None:
        for member_id in self.ledger.members_due(at):
            lots = self.ledger.open_lots(member_id)
            self.ledger.apply(plan_expiry(member_id=member_id, lots=lots, at=at,
                                          actor_label=EXPIRY_ACTOR))  # fmt: skip


def database_rows(member_id: int) -> dict[str, Any]:
    member = Member.objects.get(pk=member_id)
    return {
        "member": (member.points_balance, member.spend_total, member.state_version),
        "transfers": list(
            Transfer.objects.filter(member_id=member_id).order_by("id").values_list("kind", "points")
        ),
        "postings": list(
            Posting.objects.filter(member_id=member_id).order_by("id")
            .values_list("account", "amount")
        ),
        "lots": list(
            PointLot.objects.filter(member_id=member_id).order_by("id")
            .values_list("points", "remaining", "available_at", "expires_at")
        ),
    }  # fmt: skip


def memory_rows(ledger: MemoryLedger, member_id: int) -> dict[str, Any]:
    book = ledger.books[member_id]
    mine = [r for r in ledger.rows["transfer"] if r["member_id"] == member_id]
    return {
        "member": (book.balance, book.spend, book.version),
        "transfers": [(r["kind"], r["points"]) for r in mine],
        "postings": [
            (r["account"], r["amount"]) for r in ledger.rows["posting"] if r["member_id"] == member_id
        ],
        "lots": [
            (r["points"], r["remaining"], r["available_at"], r["expires_at"])
            for r in ledger.rows["lot"] if r["member_id"] == member_id
        ],
    }  # fmt: skip


def run_stream(stream: list[tuple[Any, ...]]) -> None:
    sid = transaction.savepoint()
    try:
        with clock.frozen_at(START - timedelta(days=1)):
            program_set(expiry_days=20, pending_days=1, rules=RULES)
            _terminal, key = terminal_create(store_code="mem", actor=Actor.system("test"))
            principal = terminal_authenticate(key)
            assert principal is not None
            members = [enroll(phone=f"+7916111000{i}") for i in range(2)]
        seller = principal.seller
        shop = MemoryShop(seller, [m.pk for m in members], {m.pk: m.created_at for m in members})
        now, number, bought = START, 0, []
        for op in stream:
            if op[0] == "buy":
                _kind, who, prices, redeem, hours = op
                now += timedelta(hours=hours)
                number += 1
                lines = tuple(
                    engine.Line(sku=f"S{i}", name="", category="coffee", quantity=Decimal(1),
                                price=price)
                    for i, price in enumerate(prices)
                )  # fmt: skip
                member_id = members[who].pk
                with clock.frozen_at(now):
                    receipt = pos.ReceiptIn(
                        member=pos.MemberRef(member_id=member_id), store="mem", lines=lines,
                        redeem=redeem, receipt_number=str(number),
                    )  # fmt: skip
                    try:
                        with transaction.atomic():
                            purchase, _result = pos.purchase_commit(seller=seller, receipt=receipt)
                    except engine.QuoteError:
                        purchase = None
                    shop.buy(number, member_id, lines, redeem, now)
                assert (purchase is None) == (number not in shop.purchases)
                if purchase is not None:
                    bought.append((number, purchase.pk, member_id, lines[0].sku))
            elif op[0] == "return" and bought:
                number_back, purchase_id, member_id, sku = bought.pop(op[1] % len(bought))
                now += timedelta(minutes=30)
                with clock.frozen_at(now):
                    pos.purchase_return(
                        seller=seller, purchase_id=purchase_id,
                        lines=[pos.ReturnRequestLine(sku=sku, quantity=Decimal(1))],
                    )  # fmt: skip
                    shop.give_back(number_back, member_id, now)
            elif op[0] == "wait":
                now += timedelta(days=op[1])
                points_expire_due(actor=Actor.system("expire_points"), at=now)
                shop.expire(now)
        for member in members:
            assert database_rows(member.pk) == memory_rows(shop.ledger, member.pk)
        assert Purchase.objects.filter(store__code="mem").count() == len(shop.purchases)
    finally:
        transaction.savepoint_rollback(sid)


def test_the_memory_and_the_database_ledger_agree_on_random_streams() -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(stream=streams)
    def agree(stream: list[tuple[Any, ...]]) -> None:
        run_stream(stream)

    agree()


def test_a_stream_with_every_movement_agrees() -> None:
    run_stream(
        [
            ("buy", 0, [100_000], 0, 0),  # earns (pending a day), the morning rule, the bonus
            ("wait", 2),
            ("buy", 0, [40_000, 30_000], "max", 1),  # redeems FIFO, earns again
            ("return", 1),  # the second purchase back: refund and take back
            ("buy", 1, [2_000], 0, 2),
            ("wait", 25),  # everything expires
            ("buy", 0, [60_000], 5, 3),  # nothing left to redeem: refused on both
        ]
    )


def quote_of(amount: int) -> engine.Quote:
    """A purchase of `amount` kopecks under a program with a 10,000 ₽ silver tier."""
    silver = engine.Tier("silver", "Серебро", 1_000_000)
    line = engine.Line("X", "X", "grocery", Decimal(1), amount)
    receipt = engine.Receipt("central", MONDAY_10_MSK, MOSCOW, (line,))
    member = engine.MemberState(1, 0, 0)
    return engine.quote(receipt, member, engine.Program(tiers=(silver,)))


MONDAY_10_MSK = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
MOSCOW = "Europe/Moscow"


def test_the_memory_ledger_keeps_the_tier_and_the_windows_spend() -> None:
    ledger = MemoryLedger()
    q = quote_of(1_100_000)
    plan = plan_purchase(
        member_id=1,
        purchase_id=7,
        effects=q.effects,
        lots=[],
        at=MONDAY_10_MSK,
        actor_label="system:test",
        spend_delta=q.amount - q.discount,
    )
    ledger.apply(plan)
    state = ledger.state(
        1, receipt_at=MONDAY_10_MSK, time_zone=MOSCOW, at=MONDAY_10_MSK, window_days=365
    )
    assert (state.tier, state.window_spend) == ("silver", 1_100_000)
    (change,) = ledger.rows["tier_change"]
    assert (change["from_tier"], change["to_tier"], change["purchase_id"]) == ("", "silver", 7)
    later = MONDAY_10_MSK + timedelta(days=366)
    state = ledger.state(1, receipt_at=later, time_zone=MOSCOW, at=later, window_days=365)
    assert (state.tier, state.window_spend) == ("silver", 0)  # out of the window, tier kept
