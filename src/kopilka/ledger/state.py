"""What the engine may know about a member, read from the database: `MemberState` and its lots.

Each `MemberState` field has one source. A member column (`STATE_COLUMNS`) is read here and
compared, value for value, by the one-statement commit's guard (`pos.fast_commit`, with the
status: `GUARD_COLUMNS`); everything
else (lots, spend, rule uses) is written only by the ledger's applier, which moves the member's
`state_version` in the same statement. A new field must be added to `STATE_SOURCES`
(tests/ledger/test_state.py fails until it is), so no input of the engine can change unseen
between a quote and its commit.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, Max, Sum
from django.db.models.functions import Coalesce

from kopilka.ledger.models import LotSpend, PointLot, RuleUse, Transfer
from kopilka.ledger.plan import OpenLot, points_of
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, ReturnLine
from kopilka.program.engine import MemberState, Program, stages

# Member columns the engine reads, by MemberState field.
STATE_COLUMNS = {"enrolled_at": "created_at", "spend": "spend_total", "tier": "tier_code"}
# What the fast path's guard compares besides `state_version`: the state columns, and the
# status every commit requires (active).
GUARD_COLUMNS = ("status", *STATE_COLUMNS.values())
# Where every other MemberState field comes from: rows only the ledger's applier writes.
STATE_SOURCES = {
    "member_id": "the member row's id",
    "available": "PointLot rows (ledger.apply)",
    "pending": "PointLot rows (ledger.apply)",
    "day_uses": "RuleUse rows (ledger.apply)",
    "month_uses": "RuleUse rows (ledger.apply)",
    "window_spend": "Purchase and ReturnLine rows of the member (written with state_version)",
    **{field: f"Member.{column} (guard)" for field, column in STATE_COLUMNS.items()},
}


def open_lots(member_id: int) -> list[OpenLot]:
    """Every lot with points left (expired ones not yet processed included), FIFO by expiry."""
    rows = (
        PointLot.objects.filter(member_id=member_id, remaining__gt=0)
        .order_by("expires_at", "id")
        .values_list("id", "remaining", "available_at", "expires_at")
    )
    return [OpenLot(*row) for row in rows]


def purchase_lots(member_id: int, purchase_id: int) -> list[OpenLot]:
    """Open lots, each marked with the purchase that earned it when that is `purchase_id`."""
    own = set(
        PointLot.objects.filter(
            member_id=member_id,
            transfer__purchase_id=purchase_id,
            transfer__kind=Transfer.Kind.EARN,
        ).values_list("id", flat=True)
    )
    return [
        OpenLot(lot.id, lot.remaining, lot.available_at, lot.expires_at, purchase_id)
        if lot.id in own
        else lot
        for lot in open_lots(member_id)
    ]


def redeemed_until(purchase_id: int) -> datetime | None:
    """The latest expiry of the lots that paid for a purchase: refunded points keep that life."""
    latest: datetime | None = LotSpend.objects.filter(
        transfer__purchase_id=purchase_id, transfer__kind=Transfer.Kind.REDEEM
    ).aggregate(latest=Max("lot__expires_at"))["latest"]
    return latest


def month_start(day: date) -> date:
    return day.replace(day=1)


def uses_of(rows: list[tuple[str, date]], day: date) -> tuple[dict[str, int], dict[str, int]]:
    """(uses on `day`, uses in its calendar month) per rule code."""
    day_uses: dict[str, int] = {}
    month_uses: dict[str, int] = {}
    first = month_start(day)
    for rule, used_on in rows:
        if month_start(used_on) == first:
            month_uses[rule] = month_uses.get(rule, 0) + 1
            if used_on == day:
                day_uses[rule] = day_uses.get(rule, 0) + 1
    return day_uses, month_uses


def local_day(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(time_zone)).date()


def member_state(
    member: Member, *, receipt_at: datetime, time_zone: str, at: datetime, program: Program
) -> tuple[MemberState, list[OpenLot]]:
    """The member's state for a receipt at `receipt_at` (rule uses of that day and month in the
    store's zone) and balance at `at`; `member` carries the GUARD_COLUMNS as read (locked)."""
    lots = open_lots(member.pk)
    day = local_day(receipt_at, time_zone)
    first = month_start(day)
    # Uses count only against limits: a program without them needs no read.
    uses = []
    if stages.compiled(program).limited:
        uses = list(
            RuleUse.objects.filter(
                member_id=member.pk, day__gte=first, day__lt=first + timedelta(days=31)
            ).values_list("rule", "day")
        )
    day_uses, month_uses = uses_of(uses, day)
    available, pending = points_of(lots, at)
    state = MemberState(
        member_id=member.pk,
        available=available,
        pending=pending,
        **{field: getattr(member, column) for field, column in STATE_COLUMNS.items()},
        day_uses=day_uses,
        month_uses=month_uses,
        # Tiers count spend in a window: a program without them needs no read.
        window_spend=window_spend(member.pk, window_start(at, program)) if program.tiers else 0,
    )
    return state, lots


def window_start(at: datetime, program: Program) -> datetime:
    """Purchases from this moment on count towards the member's tier."""
    return at - timedelta(days=program.tier_window_days)


def window_spend(member_id: int, since: datetime) -> int:
    """Spend after discounts of the member's purchases made since `since` (the till's time of
    the receipt, else when it was recorded), less what was returned of them (kopecks): what a
    tier qualifies on."""
    paid = (
        Purchase.objects.filter(member_id=member_id)
        .alias(bought=Coalesce("purchased_at", "created_at"))
        .filter(bought__gte=since)
        .aggregate(total=Sum(F("amount") - F("discount")))["total"]
    )
    returned = (
        ReturnLine.objects.filter(member_id=member_id)
        .alias(
            bought=Coalesce(
                "purchase_line__purchase__purchased_at", "purchase_line__purchase__created_at"
            )
        )
        .filter(bought__gte=since)
        .aggregate(total=Sum(F("amount") - F("discount")))["total"]
    )
    return (paid or 0) - (returned or 0)
