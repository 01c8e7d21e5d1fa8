"""What-if: the real purchases of a period replayed through the engine under the versions that
were live and under a draft, each with its own in-memory ledger.

Assumptions (also in the output): members buy what they really bought, at the same moments, in
the same stores, with the same vouchers; they redeem what they really redeemed, capped by the
side's limits and balance; behaviour does not react to the change. Each member starts the period
with the lots, spend and tier the database held at its start. The daily expiry runs at 00:05
after each expiry boundary. Returns of purchases made before the period are not replayed; event
bonuses, reward exchanges and manual adjustments are outside the comparison (the same on both
sides).
"""

import heapq
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from multiprocessing import get_context
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Sum
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock
from kopilka.core.money import format_rubles
from kopilka.core.processes import django_process_start
from kopilka.ledger.memory import MemoryLedger, counter_ids
from kopilka.ledger.models import LotSpend, PointLot
from kopilka.ledger.plan import OpenLot, plan_purchase, plan_return
from kopilka.members.models import Member, TierChange
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine, Store
from kopilka.pos.receipts import returned_share
from kopilka.program import engine
from kopilka.program.selectors import program_version
from kopilka.rewards.models import Voucher
from kopilka.rewards.selectors import voucher_terms

EXPIRY_RUN_DELAY = timedelta(minutes=5)  # expire_points runs daily at 00:05
ACTOR = "system:simulation"
ASSUMPTIONS = (
    _(
        "Members buy what they really bought, when and where they bought it, with the same vouchers."
    ),
    _("They redeem what they really redeemed, capped by each side's limits and balance."),
    _("Behaviour does not react to the change."),
    _("Each member starts with the lots, spend and tier the database held at the period's start."),
    _("Points expire at 00:05 after their last day."),
    _("Returns of purchases made before the period are not replayed."),
    _("Rule uses from before the period do not count against the rules' limits."),
    _("A voucher the draft cannot apply to its purchase is left unused on that side."),
    _(
        "Event bonuses, reward exchanges and manual adjustments are the same on both sides and left out."
    ),
)


@dataclass
class Sold:
    """A purchase as a side priced it: what its returns are shared from."""

    member_id: int | None
    index: dict[int, int]  # purchase line id -> its place
    quantities: list[Decimal]
    amounts: list[int]
    discounts: list[int]
    earned: list[int]
    redeemed: list[int]
    returned: list[Decimal]
    version: engine.Program
    voucher_off: int  # what its vouchers took off (a full return gives them back)


@dataclass
class Side:
    """One side of the comparison: its ledger and its totals (kopecks and points)."""

    ledger: MemoryLedger
    sold: dict[int, Sold] = field(default_factory=dict)
    earned: int = 0
    taken_back: int = 0
    expired: int = 0
    per_member: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    # business month ("2026-03") -> MONTH_FIGURES; the period's totals are their sums
    months: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))

    def result(self) -> "SideResult":
        tiers: dict[str, int] = defaultdict(int)
        for book in self.ledger.books.values():
            tiers[book.tier or ""] += 1
        sums = {name: getattr(self, name) for name in ("earned", "taken_back", "expired")}
        for i, name in enumerate(MONTH_FIGURES):
            sums[name] = sum(figures[i] for figures in self.months.values())
        per_member = {m: tuple(f) for m, f in self.per_member.items()}
        return SideResult(
            sums, dict(tiers), per_member, {k: list(v) for k, v in self.months.items()}
        )


# What a side counts per month (kopecks, points): the revenue, the discounts, the points
# redeemed less those refunded, and the part of the discounts vouchers gave (their rewards'
# cost counts instead).
MONTH_FIGURES = ("revenue", "discounts", "redeemed", "voucher_off")


@dataclass
class SideResult:
    """What one side of one part of the replay adds up to (parts are disjoint sets of members)."""

    sums: dict[str, int]
    tiers: dict[str, int]
    per_member: dict[int, tuple[int, ...]]
    months: dict[str, list[int]]

    def add(self, other: "SideResult") -> None:
        for name, value in other.sums.items():
            self.sums[name] += value
        for tier, count in other.tiers.items():
            self.tiers[tier] = self.tiers.get(tier, 0) + count
        self.per_member.update(other.per_member)
        for month, figures in other.months.items():
            mine = self.months.setdefault(month, [0, 0, 0, 0])
            for i, value in enumerate(figures):
                mine[i] += value

    def month_cost(self, month: str, point_value: int, rewards_cost: int) -> int:
        _revenue, discounts, redeemed, voucher_off = self.months.get(month, (0, 0, 0, 0))
        return engine.program_cost(redeemed, discounts - voucher_off, rewards_cost, point_value)

    def totals(self, point_value: int, rewards_cost: int) -> dict[str, Any]:
        n = self.sums
        redeemed = n["redeemed"]
        cost = engine.program_cost(
            redeemed, n["discounts"] - n["voucher_off"], rewards_cost, point_value
        )
        share = round(cost / n["revenue"], 4) if n["revenue"] else None
        return {
            "revenue": format_rubles(n["revenue"]),
            "points_issued": n["earned"] - n["taken_back"],
            "points_earned": n["earned"],
            "points_taken_back": n["taken_back"],
            "points_redeemed": redeemed,
            "discounts": format_rubles(n["discounts"]),
            "rewards_cost": format_rubles(rewards_cost),
            "program_cost": format_rubles(cost),
            "program_cost_share_of_revenue": share,
            "breakage_points": n["expired"],
            "tiers": dict(sorted(self.tiers.items())),
        }


@dataclass
class PartResult:
    purchases: int
    members: int
    live: SideResult
    draft: SideResult


class Replay:
    def __init__(self, draft: engine.Program | None, first_id: int) -> None:
        self.draft = draft
        self.side = Side(MemoryLedger(counter_ids(first_id), keep_rows=False))

    def program(self, version_id: int | None) -> engine.Program:
        if self.draft is not None:
            return self.draft
        return program_version(version_id or 0)

    def expire_until(self, until: datetime) -> None:
        self.side.expired += self.side.ledger.expire_runs(
            until, delay=EXPIRY_RUN_DELAY, actor_label=ACTOR
        )


def _seed(replays: list[Replay], since: datetime, part: int, parts: int) -> None:
    """Each member's lots, spend and tier at `since`, in every side's ledger."""
    spent = dict(
        _mine(
            LotSpend.objects.filter(transfer__created_at__lt=since), "lot__member_id", part, parts
        )
        .values("lot_id")
        .annotate(total=Sum("points"))
        .values_list("lot_id", "total")
    )
    lots: dict[int, list[OpenLot]] = defaultdict(list)
    for lot_id, member_id, points, available_at, expires_at in _mine(
        PointLot.objects.filter(transfer__created_at__lt=since), "member_id", part, parts
    ).values_list("id", "member_id", "points", "available_at", "expires_at"):
        left = points - spent.get(lot_id, 0)
        if left > 0:
            lots[member_id].append(OpenLot(lot_id, left, available_at, expires_at))
    spend: dict[int, int] = defaultdict(int)
    for member_id, total in (
        _mine(
            Purchase.objects.filter(created_at__lt=since, member_id__isnull=False),
            "member_id",
            part,
            parts,
        )
        .values("member_id")
        .annotate(total=Sum(F("amount") - F("discount")))
        .values_list("member_id", "total")
    ):
        spend[member_id] += total or 0
    for returner, total in (
        _mine(
            ReturnLine.objects.filter(
                purchase_return__created_at__lt=since, member_id__isnull=False
            ),
            "member_id",
            part,
            parts,
        )
        .values("member_id")
        .annotate(total=Sum(F("amount") - F("discount")))
        .values_list("member_id", "total")
    ):
        if returner is not None:
            spend[returner] -= total or 0
    tiers: dict[int, str] = {}  # the last change before `since` says where each member stood
    for member_id, tier in (
        _mine(TierChange.objects.filter(created_at__lt=since), "member_id", part, parts)
        .order_by("created_at", "id")
        .values_list("member_id", "to_tier")
    ):
        tiers[member_id] = tier
    for replay in replays:
        for member_id in set(lots) | set(spend) | set(tiers):
            replay.side.ledger.seed(
                member_id,
                lots.get(member_id, []),
                spend.get(member_id, 0),
                tiers.get(member_id, ""),
            )


@dataclass(frozen=True)
class Bought:
    """A recorded purchase, as the replay needs it."""

    id: int
    member_id: int | None
    created_at: datetime
    moment: datetime  # the receipt's own time
    store: tuple[str, str]  # code, time zone
    redeem_points: int
    version_id: int | None
    lines: tuple[engine.Line, ...]
    line_ids: tuple[int, ...]
    vouchers: tuple[engine.VoucherTerms, ...]
    month: str  # the business month it was recorded in, once for both sides
    receipt: engine.Receipt  # as the engine reads it, built once for both sides

    @cached_property
    def guest_quote(self) -> engine.Quote:
        """A guest's receipt: no member, so no discount and no points under any program; priced
        once for both sides."""
        return engine.quote(self.receipt, None, engine.Program(), 0, explain=False)


@dataclass(frozen=True)
class Returned:
    id: int
    purchase_id: int
    created_at: datetime
    time_zone: str
    lines: tuple[tuple[int, Decimal], ...]  # (purchase line id, quantity)
    month: str


def month_of(moment: datetime) -> str:
    """The business month a moment falls in, as "2026-03"."""
    return clock.business_date(moment).isoformat()[:7]


CHUNK = 1000  # purchases told to `progress` at a time
ROWS = 5000  # purchase lines read at a time


def _purchases(since: datetime, until: datetime, part: int, parts: int) -> Iterator[Bought]:
    """The period's purchases in the order they were recorded: one query streaming their lines
    with the purchase's own fields (every purchase has a line)."""
    stores = {s.pk: (s.code, s.time_zone) for s in Store.objects.all()}
    vouchers: dict[int, list[engine.VoucherTerms]] = defaultdict(list)
    for voucher in (
        Voucher.objects.filter(purchase_id__isnull=False).select_related("reward").order_by("id")
    ):
        assert voucher.purchase_id is not None
        vouchers[voucher.purchase_id].append(voucher_terms(voucher))
    rows = (
        _mine(
            PurchaseLine.objects.filter(
                purchase__created_at__gte=since, purchase__created_at__lt=until
            ),
            "purchase__member_id",
            part,
            parts,
        )
        .order_by("purchase__created_at", "purchase_id", "position")
        .values_list(
            "purchase_id",
            "purchase__member_id",
            "purchase__created_at",
            "purchase__purchased_at",
            "purchase__store_id",
            "purchase__redeem_points",
            "purchase__program_version_id",
            "id",
            "sku",
            "name",
            "category",
            "quantity",
            "price",
        )
    )
    head: tuple[Any, ...] | None = None
    lines: list[tuple[int, engine.Line]] = []
    for row in rows.iterator(chunk_size=ROWS):
        if head is not None and row[0] != head[0]:
            yield _bought(head, lines, stores, vouchers)
            lines = []
        head = row
        lines.append((row[7], engine.Line(*row[8:])))
    if head is not None:
        yield _bought(head, lines, stores, vouchers)


def _bought(
    head: tuple[Any, ...],
    lines: list[tuple[int, engine.Line]],
    stores: dict[int, tuple[str, str]],
    vouchers: dict[int, list[engine.VoucherTerms]],
) -> Bought:
    pk, member_id, created_at, purchased_at, store_id, redeem, version_id = head[:7]
    code, zone = stores[store_id]
    moment = purchased_at or created_at
    own = tuple(line for _id, line in lines)
    terms = tuple(vouchers.get(pk, ()))
    return Bought(
        id=pk,
        member_id=member_id,
        created_at=created_at,
        moment=moment,
        store=(code, zone),
        redeem_points=redeem,
        version_id=version_id,
        lines=own,
        line_ids=tuple(line_id for line_id, _line in lines),
        vouchers=terms,
        month=month_of(created_at),
        receipt=engine.Receipt(code, moment, zone, own, vouchers=terms),
    )


def _returns(since: datetime, until: datetime, part: int, parts: int) -> list[Returned]:
    """Returns of the period's own purchases, in the order they were recorded."""
    lines: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    period = Q(purchase_return__created_at__gte=since, purchase_return__created_at__lt=until)
    for return_id, line_id, quantity in ReturnLine.objects.filter(period).values_list(
        "purchase_return_id", "purchase_line_id", "quantity"
    ):
        lines[return_id].append((line_id, quantity))
    return [
        Returned(pk, purchase_id, created_at, zone, tuple(lines[pk]), month_of(created_at))
        for pk, purchase_id, created_at, zone in _mine(
            PurchaseReturn.objects.filter(
                created_at__gte=since, created_at__lt=until, purchase__created_at__gte=since
            ),
            "purchase__member_id",
            part,
            parts,
        )
        .order_by("created_at", "id")
        .values_list("id", "purchase_id", "created_at", "purchase__store__time_zone")
    ]


Progress = Callable[[int], None]  # told how many more purchases were replayed


def simulate(
    draft: engine.Program,
    *,
    since: datetime,
    until: datetime,
    workers: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The period under the live versions and under `draft`, side by side. Members are
    independent in the ledger, so `workers` processes replay disjoint sets of them (each with
    its own connection; the data must be committed, so on PostgreSQL only)."""
    if workers > 1:
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            raise ValueError("other processes see only committed PostgreSQL data")
        # Fresh processes (spawn), not forks: a fork would inherit every open connection of
        # every thread of this one (a test's live server, a worker's own), sockets two processes
        # then talk over at once. They get this process's database and time zone.
        pool = get_context("spawn").Pool(
            workers,
            initializer=django_process_start,
            initargs=(connection.settings_dict, settings.TIME_ZONE),
        )
        try:
            parts = pool.starmap(
                _part, [(draft, since, until, k, workers, progress) for k in range(workers)]
            )
        except BaseException:
            pool.terminate()
            raise
        else:
            pool.close()  # the workers finish by themselves: no terminate in a queue read
        finally:
            pool.join()
    else:
        parts = [_part(draft, since, until, 0, 1, progress)]
    first, rest = parts[0], parts[1:]
    for part in rest:
        first.live.add(part.live)
        first.draft.add(part.draft)
    point_value = draft.point_value
    rewards_by_month = _rewards_cost(since, until)
    rewards_cost = sum(rewards_by_month.values())
    changes = _changes(first.live.per_member, first.draft.per_member)
    months = sorted(set(first.live.months) | set(first.draft.months) | set(rewards_by_month))
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "purchases": sum(p.purchases for p in parts),
        "members": sum(p.members for p in parts),
        "live": first.live.totals(point_value, rewards_cost),
        "draft": first.draft.totals(point_value, rewards_cost),
        "members_better_off": sum(1 for c in changes if c[1] > 0),
        "members_worse_off": sum(1 for c in changes if c[1] < 0),
        "median_change_points": statistics.median([c[0] for c in changes]) if changes else 0,
        "months": [
            {
                "month": month,
                "live_cost": format_rubles(
                    first.live.month_cost(month, point_value, rewards_by_month.get(month, 0))
                ),
                "draft_cost": format_rubles(
                    first.draft.month_cost(month, point_value, rewards_by_month.get(month, 0))
                ),
            }
            for month in months
        ],
        "change_distribution": change_distribution([c[0] for c in changes]),
        "assumptions": [str(line) for line in ASSUMPTIONS],
    }


def _mine(queryset: Any, field: str, part: int, parts: int) -> Any:
    """The rows of this part's members (member id modulo `parts`); guests go to part 0."""
    if parts == 1:
        return queryset
    mine = queryset.alias(_part=F(field) % parts).filter(_part=part)
    if part == 0:
        mine = mine | queryset.filter(**{f"{field}__isnull": True})
    return mine


def _part(
    draft: engine.Program,
    since: datetime,
    until: datetime,
    part: int,
    parts: int,
    progress: Progress | None = None,
) -> PartResult:
    first_id = 10 ** len(
        str(PointLot.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    )
    live, drafted = Replay(None, first_id), Replay(draft, first_id)
    replays = [live, drafted]
    _seed(replays, since, part, parts)
    enrolled = dict(Member.objects.values_list("id", "created_at"))
    purchases = 0
    seen: set[int] = set()
    returns = _returns(since, until, part, parts)
    returned = {r.purchase_id for r in returns}  # only these need their figures kept
    events: Iterator[tuple[datetime, int, Bought | Returned]] = heapq.merge(
        ((b.created_at, 0, b) for b in _purchases(since, until, part, parts)),
        ((r.created_at, 1, r) for r in returns),
        key=lambda event: (event[0], event[1]),
    )
    for at, _order, event in events:
        for replay in replays:
            replay.expire_until(at)
        if isinstance(event, Bought):
            purchases += 1
            if progress is not None and purchases % CHUNK == 0:
                progress(CHUNK)
            if event.member_id is not None:
                seen.add(event.member_id)
            for replay in replays:
                _sell(replay, event, enrolled, keep=event.id in returned)
        else:
            for replay in replays:
                _return(replay, event)
    for replay in replays:
        replay.expire_until(until)
    if progress is not None and purchases % CHUNK:
        progress(purchases % CHUNK)
    return PartResult(purchases, len(seen), live.side.result(), drafted.side.result())


def _priced(
    receipt: engine.Receipt, state: engine.MemberState, program: engine.Program, redeem: int
) -> engine.Quote:
    """The quote with what the member really redeemed, or as much as this side allows when
    that is less (a second quote only then)."""
    try:
        return engine.quote(receipt, state, program, redeem, explain=False)
    except (engine.InsufficientPoints, engine.RedeemLimitExceeded):
        return engine.quote(receipt, state, program, "max", explain=False)


def _sell(replay: Replay, bought: Bought, enrolled: dict[int, datetime], *, keep: bool) -> None:
    """Price and book a purchase on one side; `keep` its figures when a return will share
    them out."""
    side, ledger = replay.side, replay.side.ledger
    program = replay.program(bought.version_id)
    zone = bought.store[1]
    receipt = bought.receipt
    member_id = bought.member_id
    if member_id is None:
        quote = bought.guest_quote
    else:
        state = ledger.state(
            member_id,
            receipt_at=bought.moment,
            time_zone=zone,
            at=bought.created_at,
            enrolled_at=enrolled.get(member_id),
            window_days=program.tier_window_days if program.tiers else None,
        )
        try:
            quote = _priced(receipt, state, program, bought.redeem_points)
        except engine.VoucherNotApplicable:
            receipt = replace(receipt, vouchers=())
            quote = _priced(receipt, state, program, bought.redeem_points)
    side.earned += quote.earn_points
    voucher_off = (
        sum(e.discount for e in quote.effects if isinstance(e, engine.VoucherUse))
        if receipt.vouchers
        else 0
    )
    month = side.months[bought.month]
    month[0] += quote.amount - quote.discount
    month[1] += quote.discount
    month[2] += quote.redeem_points
    month[3] += voucher_off
    if member_id is not None:
        plan = plan_purchase(
            member_id=member_id,
            purchase_id=bought.id,
            effects=quote.effects,
            lots=ledger.open_lots(member_id) if quote.redeem_points else (),  # FIFO only to spend
            at=bought.created_at,
            actor_label=ACTOR,
            spend_delta=quote.amount - quote.discount,
        )
        ledger.apply(plan)
        figures = side.per_member[member_id]
        figures[0] += quote.earn_points
        figures[1] += quote.earn_points * program.point_value + quote.discount
    if not keep:
        return
    side.sold[bought.id] = Sold(
        member_id=member_id,
        index={line_id: i for i, line_id in enumerate(bought.line_ids)},
        quantities=[line.quantity for line in bought.lines],
        amounts=[q.amount for q in quote.lines],
        discounts=[q.discount for q in quote.lines],
        earned=[q.earn_points for q in quote.lines],
        redeemed=[q.redeem_points for q in quote.lines],
        returned=[Decimal(0)] * len(bought.lines),
        version=program,
        voucher_off=voucher_off,
    )


def _return(replay: Replay, back: Returned) -> None:
    side = replay.side
    sold = side.sold.get(back.purchase_id)
    if sold is None:
        return
    take_back = refund = spend = discounts = 0
    for line_id, quantity in back.lines:
        i = sold.index[line_id]
        before, after, whole = sold.returned[i], sold.returned[i] + quantity, sold.quantities[i]
        earned, redeemed, amount, discount = (
            returned_share(figures[i], whole, before, after)
            for figures in (sold.earned, sold.redeemed, sold.amounts, sold.discounts)
        )
        take_back += earned
        refund += redeemed
        spend += amount - discount
        discounts += discount
        sold.returned[i] = after
    month = side.months[back.month]
    month[0] -= spend
    month[1] -= discounts
    month[2] -= refund
    if sold.voucher_off and sold.returned == sold.quantities:  # returned in full: vouchers back
        month[3] -= sold.voucher_off
        sold.voucher_off = 0
    if sold.member_id is None:
        return
    ledger = side.ledger
    store_zone = back.time_zone
    plan, taken = plan_return(
        member_id=sold.member_id,
        purchase_id=back.purchase_id,
        return_id=back.id,
        take_back=take_back,
        refund=refund,
        lots=ledger.purchase_lots(sold.member_id, back.purchase_id),
        paid_until=ledger.redeemed_until(back.purchase_id),
        program=sold.version,
        time_zone=store_zone,
        at=back.created_at,
        actor_label=ACTOR,
        spend_delta=-spend,
    )
    ledger.apply(plan)
    side.taken_back += taken
    figures = side.per_member[sold.member_id]
    figures[0] -= taken


def _rewards_cost(since: datetime, until: datetime) -> dict[str, int]:
    """What the vouchers used in the period cost the business, per business month (the same on
    both sides)."""
    months: dict[str, int] = defaultdict(int)
    for used_at, cost in Voucher.objects.filter(used_at__gte=since, used_at__lt=until).values_list(
        "used_at", "reward__cost"
    ):
        assert used_at is not None  # the filter says so
        months[month_of(used_at)] += cost
    return dict(months)


BINS = 12  # bars of the per-member change


def change_distribution(changes: list[int]) -> list[dict[str, int]]:
    """How many members' points change by how much: zero (the commonest answer to a small
    change) a bar of its own, then up to `BINS` bars of equal width on each side. The long tails
    beyond the 1st and 99th percentiles fold into the outer bars, whose `from` or `to` is the
    extreme itself, so one outlier does not squeeze everyone into the first bar."""
    if not changes:
        return []
    ordered = sorted(changes)
    cut = len(ordered) // 100
    low_cut, high_cut = ordered[cut], ordered[-1 - cut]
    zero = sum(1 for c in ordered if c == 0)
    bars = [{"from": 0, "to": 0, "members": zero}] if zero else []
    for first, last, body_first, body_last in (
        (ordered[0], -1, max(ordered[0], low_cut), -1),
        (1, ordered[-1], 1, min(ordered[-1], high_cut)),
    ):
        if first > last:
            continue
        if body_first > body_last:  # every value of this side is in the tail
            body_first, body_last = first, last
        width = max(1, -(-(body_last - body_first + 1) // BINS))  # ceiling
        top = (body_last - body_first) // width
        counts = [0] * (top + 1)
        for c in ordered:
            if first <= c <= last:
                counts[min(max((c - body_first) // width, 0), top)] += 1
        side = [  # empty bars too: the shape is the point
            {
                "from": body_first + k * width,
                "to": min(body_last, body_first + (k + 1) * width - 1),
                "members": n,
            }
            for k, n in enumerate(counts)
        ]
        side[0]["from"], side[-1]["to"] = first, last
        bars += side
    return sorted(bars, key=lambda bar: bar["from"])


def _changes(
    live: dict[int, tuple[int, ...]], draft: dict[int, tuple[int, ...]]
) -> list[tuple[int, int]]:
    """Per member: (points earned, value to the member in kopecks), draft minus live."""
    none = (0, 0)
    return [
        (
            draft.get(m, none)[0] - live.get(m, none)[0],
            draft.get(m, none)[1] - live.get(m, none)[1],
        )
        for m in sorted(set(live) | set(draft))
    ]


def default_period(today: date) -> tuple[datetime, datetime]:
    """The last 12 months up to today's start."""
    until = clock.start_of_business_day(today)
    year_ago = date(today.year - 1, today.month, min(today.day, 28 if today.month == 2 else 31))
    return clock.start_of_business_day(year_ago), until
