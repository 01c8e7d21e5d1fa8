"""The ledger in memory: the same plans and the same rows as the database applier, no database.

It serves the demo generator (rows written in bulk afterwards), the coming what-if simulation
and the property test that holds it against the database ledger. Like `ledger.apply`, it
decides nothing: plans come from `ledger.plan`, rows from `ledger.apply`'s row builders.
"""

import heapq
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kopilka.ledger.apply import Row, lot_rows, plan_rows, tier_change_row, transfer_rows
from kopilka.ledger.plan import REDEEM, OpenLot, Plan, plan_expiry, points_of
from kopilka.ledger.state import local_day, uses_of
from kopilka.program.engine import MemberState

Ids = Callable[[str], int]  # table ("transfer", "lot", …) -> its next id


def counter_ids(start: int = 0) -> Ids:
    """Ids start + 1, start + 2 … per table."""
    taken: dict[str, int] = defaultdict(lambda: start)

    def take(table: str) -> int:
        taken[table] += 1
        return taken[table]

    return take


@dataclass
class MemberBook:
    """One member's side of the ledger, as the member row and their lots hold it."""

    lots: dict[int, OpenLot] = field(default_factory=dict)  # open lots by id
    balance: int = 0
    spend: int = 0
    version: int = 0
    uses: list[tuple[str, date]] = field(default_factory=list)
    tier: str = ""
    # (the purchase's time, spend change): purchases and, at their purchase's time, returns
    spends: list[tuple[datetime, int]] = field(default_factory=list)
    # The replay asks for the tier window's spend with a `since` that only grows: the changes
    # inside the last window asked, soonest first, and their sum, so each change is added and
    # dropped once instead of summing the whole list every time.
    _window: list[tuple[datetime, int]] = field(default_factory=list)
    _window_total: int = 0
    _window_since: datetime | None = None
    # Bounds that let the balance be read without looking at the lots: every lot available by
    # `_all_available_at`, none expiring before `_first_expiry` (stale bounds only cost a look).
    _all_available_at: datetime | None = None
    _first_expiry: datetime | None = None

    def spend_add(self, at: datetime, delta: int) -> None:
        self.spends.append((at, delta))
        if self._window_since is not None and at >= self._window_since:
            heapq.heappush(self._window, (at, delta))
            self._window_total += delta

    def window_spend(self, since: datetime) -> int:
        """The spend changes at or after `since`."""
        if self._window_since is None or since < self._window_since:
            self._window = [(t, d) for t, d in self.spends if t >= since]
            heapq.heapify(self._window)
            self._window_total = sum(d for _t, d in self._window)
        else:
            while self._window and self._window[0][0] < since:
                self._window_total -= heapq.heappop(self._window)[1]
        self._window_since = since
        return self._window_total

    def lot_add(self, lot: OpenLot) -> None:
        self.lots[lot.id] = lot
        if self._all_available_at is not None:
            self._all_available_at = max(self._all_available_at, lot.available_at)
        if self._first_expiry is not None:
            self._first_expiry = min(self._first_expiry, lot.expires_at)

    def points(self, at: datetime) -> tuple[int, int]:
        """(available, pending) at `at`, as `ledger.plan.points_of` over the lots."""
        fresh = self._all_available_at is not None and self._first_expiry is not None
        if fresh and self._all_available_at <= at < self._first_expiry:  # type: ignore[operator]
            return self.balance, 0
        lots = self.lots.values()
        if lots:
            self._all_available_at = max(lot.available_at for lot in lots)
            self._first_expiry = min(lot.expires_at for lot in lots)
        return points_of(lots, at)


class MemoryLedger:
    """`keep_rows=False` keeps only the books (balances, lots, spend, tier, totals per kind),
    not the rows: what the what-if replay needs, at a fraction of the cost."""

    def __init__(self, ids: Ids | None = None, *, keep_rows: bool = True) -> None:
        self.ids = ids or counter_ids()
        self.keep_rows = keep_rows
        self.books: dict[int, MemberBook] = defaultdict(MemberBook)
        self.rows: dict[str, list[Row]] = defaultdict(list)  # table -> rows with their ids
        self.points: dict[str, int] = defaultdict(int)  # the member's side, per transfer kind
        self._expiring: list[tuple[datetime, int, int]] = []  # (expires_at, lot id, member id)
        self._earned_by: dict[int, int] = {}  # lot id -> purchase whose earning made it
        self._paid_until: dict[int, datetime] = {}  # purchase id -> latest expiry it spent
        self._lot_rows: dict[int, Row] = {}  # every lot's row, by id: takes update `remaining`
        self._purchase_at: dict[int, datetime] = {}  # purchase id -> when its plan was applied

    def seed(self, member_id: int, lots: list[OpenLot], spend: int, tier: str = "") -> None:
        """Start a member from the state a database held (the what-if simulation): open lots
        with the ids they have there (keep this ledger's own ids apart), cumulative spend, tier."""
        book = self.books[member_id]
        for lot in lots:
            book.lot_add(lot)
            book.balance += lot.remaining
            if self.keep_rows:
                self._lot_rows[lot.id] = {
                    "id": lot.id,
                    "remaining": lot.remaining,
                    "expires_at": lot.expires_at,
                }
            heapq.heappush(self._expiring, (lot.expires_at, lot.id, member_id))
        book.spend += spend
        book.tier = tier

    def open_lots(self, member_id: int) -> list[OpenLot]:
        lots = self.books[member_id].lots.values()
        return sorted(lots, key=lambda lot: (lot.expires_at, lot.id))

    def purchase_lots(self, member_id: int, purchase_id: int) -> list[OpenLot]:
        """As `ledger.state.purchase_lots`: the purchase's own lots marked as such."""
        return [
            OpenLot(lot.id, lot.remaining, lot.available_at, lot.expires_at, purchase_id)
            if self._earned_by.get(lot.id) == purchase_id
            else lot
            for lot in self.open_lots(member_id)
        ]

    def redeemed_until(self, purchase_id: int) -> datetime | None:
        return self._paid_until.get(purchase_id)

    def state(
        self,
        member_id: int,
        *,
        receipt_at: datetime,
        time_zone: str,
        at: datetime,
        enrolled_at: datetime | None = None,
        window_days: int | None = None,
    ) -> MemberState:
        """As `ledger.state.member_state`, from the books (`window_days`: the program's tier
        window, None for a program without tiers)."""
        book = self.books[member_id]
        since = None if window_days is None else at - timedelta(days=window_days)
        available, pending = book.points(at)
        day_uses, month_uses = uses_of(book.uses, local_day(receipt_at, time_zone))
        return MemberState(
            member_id=member_id,
            available=available,
            pending=pending,
            enrolled_at=enrolled_at,
            spend=book.spend,
            day_uses=day_uses,
            month_uses=month_uses,
            tier=book.tier,
            window_spend=0 if since is None else book.window_spend(since),
        )

    def next_expiry(self) -> datetime | None:
        """The soonest expiry among lots that may still hold points."""
        while self._expiring:
            expires_at, lot_id, member_id = self._expiring[0]
            if lot_id in self.books[member_id].lots:
                return expires_at
            heapq.heappop(self._expiring)
        return None

    def expire_runs(self, until: datetime, *, delay: timedelta, actor_label: str) -> int:
        """The daily expiry job for every run up to `until` (`delay` after each expiry
        boundary): one EXPIRE transfer per member due. Returns the points expired."""
        expired = 0
        while (expires_at := self.next_expiry()) is not None and expires_at + delay <= until:
            at = expires_at + delay
            for member_id in self.members_due(expires_at):
                lots = self.open_lots(member_id)
                plan = plan_expiry(member_id=member_id, lots=lots, at=at, actor_label=actor_label)
                expired -= plan.balance_delta
                self.apply(plan)
        return expired

    def members_due(self, at: datetime) -> list[int]:
        """Members holding points that expire by `at`, in id order (for the expiry job, which
        then expires them all: they are not offered again)."""
        due = set()
        while self._expiring and self._expiring[0][0] <= at:
            _expires_at, lot_id, member_id = heapq.heappop(self._expiring)
            if lot_id in self.books[member_id].lots:
                due.add(member_id)
        return sorted(due)

    def apply(self, plan: Plan) -> list[int]:
        """Write a plan; returns the new transfers' ids (as `ledger.apply.plan_apply`; without
        rows kept, only where a row needed them)."""
        if plan.empty:
            return []
        book = self.books[plan.member_id]
        full = self.keep_rows or bool(plan.takes)  # rows wanted, or to see what is taken
        transfer_ids = [self.ids("transfer") for _t in plan.transfers] if full else []
        lots = lot_rows(plan, transfer_ids) if full else _lots_kept(plan)
        lot_ids = [self.ids("lot") for _lot in lots]
        if self.keep_rows:
            self._add("transfer", transfer_rows(plan), transfer_ids)
            self._add("lot", lots, lot_ids)
            rows = plan_rows(plan, transfer_ids, lot_ids)
            for table, table_rows in (
                ("posting", rows.postings),
                ("spend", rows.spends),
                ("rule_use", rows.rule_uses),
            ):
                self._add(table, table_rows, [self.ids(table) for _row in table_rows])
        for lot_id, row in zip(lot_ids, lots, strict=True):
            lot = OpenLot(lot_id, row["remaining"], row["available_at"], row["expires_at"])  # type: ignore[arg-type]
            if lot.remaining:
                book.lot_add(lot)
                heapq.heappush(self._expiring, (lot.expires_at, lot_id, plan.member_id))
            if plan.purchase_id is not None and plan.return_id is None:
                self._earned_by[lot_id] = plan.purchase_id
        paid_until = None  # the latest expiry among the lots taken from
        for take in plan.takes:
            if not isinstance(take.lot, int):
                continue  # a lot of this plan: lot_rows took it off already
            if self.keep_rows:
                self._lot_rows[take.lot]["remaining"] -= take.points  # type: ignore[operator]
            lot = book.lots[take.lot]
            paid_until = lot.expires_at if paid_until is None else max(paid_until, lot.expires_at)
            if lot.remaining - take.points:
                book.lots[take.lot] = OpenLot(
                    lot.id, lot.remaining - take.points, lot.available_at, lot.expires_at
                )
            else:
                del book.lots[take.lot]
        if plan.purchase_id is not None and any(t.kind == REDEEM for t in plan.transfers):
            assert paid_until is not None
            self._paid_until[plan.purchase_id] = paid_until
        for transfer in plan.transfers:
            self.points[transfer.kind] += transfer.points
        book.balance += plan.balance_delta
        book.spend += plan.spend_delta
        book.version += 1
        book.uses.extend((use.rule, use.day) for use in plan.rule_uses)
        if plan.spend_delta:
            bought = self._purchase_at.setdefault(plan.purchase_id or 0, plan.at)
            book.spend_add(bought, plan.spend_delta)
        if plan.tier is not None:
            book.tier = plan.tier.tier
            if self.keep_rows:
                self._add("tier_change", [tier_change_row(plan)], [self.ids("tier_change")])
        return transfer_ids

    def _add(self, table: str, rows: list[Row], ids: list[int]) -> None:
        for row, row_id in zip(rows, ids, strict=True):
            row["id"] = row_id
            if table == "lot":
                self._lot_rows[row_id] = row
        self.rows[table].extend(rows)


def _lots_kept(plan: Plan) -> list[Row]:
    """`lot_rows` for a plan that takes from no lot, with only what the books keep."""
    return [
        {"remaining": lot.points, "available_at": lot.available_at, "expires_at": lot.expires_at}
        for lot in plan.lots
    ]


def balances(ledger: MemoryLedger) -> Mapping[int, int]:
    return {member_id: book.balance for member_id, book in ledger.books.items()}
