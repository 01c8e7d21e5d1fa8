"""The ledger's planner: effects and a member's open lots in, the rows to write out. Pure.

Every movement of points is planned here, and only here: FIFO by expiry, which lots a return
takes back first, what expires. The appliers (`ledger.apply` for the database, `ledger.memory`
for the demo, what-if and property tests) write a plan exactly as it stands and decide nothing.
A transfer's legs always sum to zero; refs are indexes into the plan's own tuples.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kopilka.program.engine import (
    Effect,
    Grant,
    InsufficientPoints,
    Program,
    RuleUse,
    Spend,
    TierReached,
    lot_dates,
)

MEMBER, ISSUED, REDEEMED, EXPIRED, ADJUSTMENT = (
    "member",
    "issued",
    "redeemed",
    "expired",
    "adjustment",
)
EARN, REDEEM, RETURN, EXPIRE, ADJUST = "earn", "redeem", "return", "expire", "adjust"
BONUS, REWARD = "bonus", "reward"
Legs = tuple[tuple[str, int], ...]


class LedgerInvariantError(AssertionError):
    """A bug, never user input: the ledger refuses to write an unbalanced or impossible transfer."""


@dataclass(frozen=True)
class OpenLot:
    id: int
    remaining: int
    available_at: datetime
    expires_at: datetime
    purchase_id: int | None = None  # the purchase whose earning made it, if any


def points_of(lots: Iterable[OpenLot], at: datetime) -> tuple[int, int]:
    """(available, pending) points at `at`: the one definition of a member's balance."""
    available = pending = 0
    for lot in lots:
        if lot.remaining > 0 and lot.expires_at > at:
            if lot.available_at <= at:
                available += lot.remaining
            else:
                pending += lot.remaining
    return available, pending


def fifo(lots: Iterable[OpenLot], at: datetime, *, include_pending: bool) -> list[OpenLot]:
    """Live lots in spending order: soonest expiry first (pending ones, when included, last)."""
    live = [
        lot
        for lot in lots
        if lot.remaining > 0 and lot.expires_at > at and (include_pending or lot.available_at <= at)
    ]
    return sorted(live, key=lambda lot: (lot.available_at > at, lot.expires_at, lot.id))


@dataclass(frozen=True)
class TransferRow:
    kind: str
    legs: Legs
    reason: str = ""

    @property
    def points(self) -> int:
        """How much the transfer moves the member's balance."""
        return sum(amount for account, amount in self.legs if account == MEMBER)


@dataclass(frozen=True)
class LotRow:
    transfer: int  # ref into Plan.transfers
    points: int
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewLot:
    index: int  # ref into Plan.lots


@dataclass(frozen=True)
class TakeRow:
    lot: int | NewLot  # an existing lot's id, or a lot this plan creates
    transfer: int
    points: int


@dataclass(frozen=True)
class Plan:
    member_id: int
    at: datetime
    actor_label: str
    purchase_id: int | None = None
    return_id: int | None = None
    transfers: tuple[TransferRow, ...] = ()
    lots: tuple[LotRow, ...] = ()
    takes: tuple[TakeRow, ...] = ()
    spend_delta: int = 0  # change of the member's cumulative spend, kopecks
    rule_uses: tuple[RuleUse, ...] = ()
    tier: TierReached | None = None  # the higher tier the purchase reached
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def balance_delta(self) -> int:
        return sum(t.points for t in self.transfers)

    @property
    def empty(self) -> bool:
        return not (self.transfers or self.spend_delta or self.rule_uses or self.tier)


def plan_transfer(kind: str, legs: Sequence[tuple[str, int]], reason: str = "") -> TransferRow:
    kept = tuple((account, amount) for account, amount in legs if amount)
    if sum(amount for _account, amount in kept) != 0:
        raise LedgerInvariantError(f"postings of a transfer must sum to zero: {legs}")
    return TransferRow(kind, kept, reason)


def _take(
    lots: Iterable[OpenLot | tuple[NewLot, int]], points: int, transfer: int
) -> list[TakeRow]:
    """Take `points` from `lots` in the order given; refuse if they hold fewer."""
    takes, left = [], points
    for lot in lots:
        if left == 0:
            break
        ref, remaining = (lot.id, lot.remaining) if isinstance(lot, OpenLot) else lot
        take = min(remaining, left)
        if take > 0:
            takes.append(TakeRow(ref, transfer, take))
            left -= take
    if left:
        raise InsufficientPoints(
            "the lots hold fewer points than the plan spends",
            available=points - left,
            requested=points,
        )
    return takes


def plan_purchase(
    *,
    member_id: int,
    purchase_id: int | None,
    effects: Sequence[Effect],
    lots: Sequence[OpenLot],
    at: datetime,
    actor_label: str,
    spend_delta: int = 0,
) -> Plan:
    """A purchase's rows: REDEEM (member to redeemed, lots FIFO), then EARN (issued to member,
    one lot per distinct pair of dates), and the rules it used."""
    spent = sum(e.points for e in effects if isinstance(e, Spend))
    grants = [e for e in effects if isinstance(e, Grant)]
    transfers: list[TransferRow] = []
    takes: list[TakeRow] = []
    new_lots: list[LotRow] = []
    if spent:
        transfers.append(plan_transfer(REDEEM, [(MEMBER, -spent), (REDEEMED, spent)]))
        takes = _take(fifo(lots, at, include_pending=False), spent, 0)
    earned = sum(g.points for g in grants)
    if earned:
        transfers.append(plan_transfer(EARN, [(ISSUED, -earned), (MEMBER, earned)]))
        dated: dict[tuple[datetime, datetime], int] = {}
        for g in grants:
            dated[g.available_at, g.expires_at] = (
                dated.get((g.available_at, g.expires_at), 0) + g.points
            )
        new_lots = [
            LotRow(len(transfers) - 1, points, available_at, expires_at)
            for (available_at, expires_at), points in dated.items()
        ]
    return Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        purchase_id=purchase_id,
        transfers=tuple(transfers),
        lots=tuple(new_lots),
        takes=tuple(takes),
        spend_delta=spend_delta,
        rule_uses=tuple(e for e in effects if isinstance(e, RuleUse)),
        tier=next((e for e in effects if isinstance(e, TierReached)), None),
    )


def plan_return(
    *,
    member_id: int,
    purchase_id: int,
    return_id: int,
    take_back: int,
    refund: int,
    lots: Sequence[OpenLot],
    paid_until: datetime | None,
    program: Program,
    time_zone: str,
    at: datetime,
    actor_label: str,
    spend_delta: int = 0,
) -> tuple[Plan, int]:
    """Refund redeemed points and take back earned ones; returns the plan and the points taken.

    Earned points come back from the purchase's own lots first, then from the refund, then from
    the member's other points, pending ones last. What the member no longer holds is not taken
    (the balance never goes negative). Refunded points keep the life they had: they expire with
    the latest lot that paid for them (`paid_until`), or else as points earned now under the
    purchase's own version (`program`) would.
    """
    refund_expires_at = paid_until or lot_dates(at, time_zone, program)[1]
    live = fifo(lots, at, include_pending=True)
    own = [lot for lot in live if lot.purchase_id == purchase_id]
    others = [lot for lot in live if lot.purchase_id != purchase_id]
    taken = min(take_back, refund + sum(lot.remaining for lot in live))
    transfers: list[TransferRow] = []
    new_lots: list[LotRow] = []
    takes: list[TakeRow] = []
    if taken or refund:
        transfers.append(
            plan_transfer(RETURN, [(MEMBER, refund - taken), (REDEEMED, -refund), (ISSUED, taken)])
        )
        order: list[OpenLot | tuple[NewLot, int]] = list(own)
        if refund:
            new_lots.append(LotRow(0, refund, at, refund_expires_at))
            order.append((NewLot(0), refund))
        takes = _take([*order, *others], taken, 0)
    plan = Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        purchase_id=purchase_id,
        return_id=return_id,
        transfers=tuple(transfers),
        lots=tuple(new_lots),
        takes=tuple(takes),
        spend_delta=spend_delta,
    )
    return plan, taken


def plan_expiry(*, member_id: int, lots: Sequence[OpenLot], at: datetime, actor_label: str) -> Plan:
    """Every lot whose time has come, in one EXPIRE transfer (an empty plan if none)."""
    due = sorted(
        (lot for lot in lots if lot.remaining > 0 and lot.expires_at <= at),
        key=lambda lot: (lot.expires_at, lot.id),
    )
    total = sum(lot.remaining for lot in due)
    if not total:
        return Plan(member_id=member_id, at=at, actor_label=actor_label)
    takes = [TakeRow(lot.id, 0, lot.remaining) for lot in due]
    return Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        transfers=(plan_transfer(EXPIRE, [(MEMBER, -total), (EXPIRED, total)]),),
        takes=tuple(takes),
    )


def plan_adjust(
    *,
    member_id: int,
    points: int,
    reason: str,
    lots: Sequence[OpenLot],
    at: datetime,
    expires_at: datetime,
    actor_label: str,
) -> Plan:
    """A manual correction: a positive one is a new lot available at once, a negative one is
    taken FIFO from the available points (refused if they are fewer)."""
    transfer = plan_transfer(ADJUST, [(ADJUSTMENT, -points), (MEMBER, points)], reason)
    new_lots = [LotRow(0, points, at, expires_at)] if points > 0 else []
    takes = _take(fifo(lots, at, include_pending=False), -points, 0) if points < 0 else []
    return Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        transfers=(transfer,),
        lots=tuple(new_lots),
        takes=tuple(takes),
    )


def plan_bonus(
    *,
    member_id: int,
    points: int,
    reason: str,
    lots: Sequence[OpenLot],
    at: datetime,
    expires_at: datetime,
    actor_label: str,
) -> Plan:
    """An event bonus: points the program issues (like earning, not for a purchase), a new lot
    available at once."""
    if points <= 0:
        raise LedgerInvariantError("a bonus gives points")
    transfer = plan_transfer(BONUS, [(ISSUED, -points), (MEMBER, points)], reason)
    new_lots = [LotRow(0, points, at, expires_at)]
    return Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        transfers=(transfer,),
        lots=tuple(new_lots),
    )


def plan_reward(
    *,
    member_id: int,
    points: int,
    reason: str,
    lots: Sequence[OpenLot],
    at: datetime,
    actor_label: str,
) -> Plan:
    """Points exchanged for a reward: taken FIFO by expiry from the available points, like a
    redemption (refused if they are fewer)."""
    transfer = plan_transfer(REWARD, [(MEMBER, -points), (REDEEMED, points)], reason)
    takes = _take(fifo(lots, at, include_pending=False), points, 0)
    return Plan(
        member_id=member_id,
        at=at,
        actor_label=actor_label,
        transfers=(transfer,),
        takes=tuple(takes),
    )
