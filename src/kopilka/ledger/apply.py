"""Appliers write a `Plan` exactly as it stands; they decide nothing (see `ledger.plan`).

`plan_rows` turns a plan into table rows once the ids of its new transfers and lots are known;
the database applier below and the in-memory one (`ledger.memory`) both write those rows, and
the one-statement purchase commit on PostgreSQL (`pos.fast_commit`) sends them in one round trip.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from kopilka.core.money import format_rubles
from kopilka.core.sql import insert_rows
from kopilka.ledger.models import LotSpend, PointLot, Posting, RuleUse, Transfer
from kopilka.ledger.plan import NewLot, Plan
from kopilka.members.models import Member, TierChange
from kopilka.program.engine import Reason

Row = dict[str, object]


def transfer_rows(plan: Plan) -> list[Row]:
    return [
        {
            "kind": t.kind,
            "member_id": plan.member_id,
            "purchase_id": plan.purchase_id,
            "purchase_return_id": plan.return_id,
            "points": t.points,
            "created_at": plan.at,
            "reason": t.reason,
            "actor_label": plan.actor_label,
        }
        for t in plan.transfers
    ]


def lot_rows(plan: Plan, transfer_ids: Sequence[int]) -> list[Row]:
    """New lots, with what this same plan already takes from them subtracted."""
    taken = [0] * len(plan.lots)
    for take in plan.takes:
        if isinstance(take.lot, NewLot):
            taken[take.lot.index] += take.points
    return [
        {
            "member_id": plan.member_id,
            "transfer_id": transfer_ids[lot.transfer],
            "points": lot.points,
            "remaining": lot.points - taken[i],
            "earned_at": plan.at,
            "available_at": lot.available_at,
            "expires_at": lot.expires_at,
        }
        for i, lot in enumerate(plan.lots)
    ]


@dataclass(frozen=True)
class Rows:
    postings: list[Row]
    spends: list[Row]
    rule_uses: list[Row]
    lot_takes: list[tuple[int, int]]  # (existing lot id, points taken)


def plan_rows(plan: Plan, transfer_ids: Sequence[int], lot_ids: Sequence[int]) -> Rows:
    member_id = plan.member_id
    return Rows(
        postings=[
            {"transfer_id": tid, "account": account, "member_id": member_id, "amount": amount}
            for t, tid in zip(plan.transfers, transfer_ids, strict=True)
            for account, amount in t.legs
        ],
        spends=[
            {
                "lot_id": lot_ids[take.lot.index] if isinstance(take.lot, NewLot) else take.lot,
                "transfer_id": transfer_ids[take.transfer],
                "member_id": member_id,
                "points": take.points,
            }
            for take in plan.takes
        ],
        rule_uses=[
            {
                "member_id": member_id,
                "rule": use.rule,
                "day": use.day,
                "purchase_id": plan.purchase_id,
            }
            for use in plan.rule_uses
        ],
        lot_takes=[(take.lot, take.points) for take in plan.takes if isinstance(take.lot, int)],
    )


_MEMBER_MOVE_SQL = (
    f"UPDATE {Member._meta.db_table} SET points_balance = points_balance + %s, "
    "spend_total = spend_total + %s, state_version = state_version + 1 WHERE id = %s"
)
_LOT_TAKE_SQL = f"UPDATE {PointLot._meta.db_table} SET remaining = remaining - %s WHERE id = %s"


def plan_apply(plan: Plan) -> list[int]:
    """Write a plan to the database; returns the new transfers' ids. The caller holds the
    member's row lock inside a transaction (the plan was made from lots read under it)."""
    if not connection.in_atomic_block:
        raise AssertionError("a plan is applied inside transaction.atomic(), under the member lock")
    if plan.empty:
        return []
    transfer_ids = insert_rows(Transfer, transfer_rows(plan))
    lot_ids = insert_rows(PointLot, lot_rows(plan, transfer_ids))
    rows = plan_rows(plan, transfer_ids, lot_ids)
    insert_rows(Posting, rows.postings)
    insert_rows(LotSpend, rows.spends)
    insert_rows(RuleUse, rows.rule_uses)
    with connection.cursor() as cursor:
        for lot_id, points in rows.lot_takes:
            cursor.execute(_LOT_TAKE_SQL, [points, lot_id])
        cursor.execute(_MEMBER_MOVE_SQL, [plan.balance_delta, plan.spend_delta, plan.member_id])
    if plan.tier is not None:
        tier_raise(plan)
    return transfer_ids


def tier_raise(plan: Plan) -> None:
    """The member reached a higher tier: the row holds it from now, the change says why."""
    reached = plan.tier
    assert reached is not None
    Member.objects.filter(pk=plan.member_id).update(
        tier_code=reached.tier, tier_since=plan.at, tier_at_risk_since=None
    )
    TierChange.objects.create(**tier_change_row(plan))


def tier_change_row(plan: Plan) -> Row:
    reached = plan.tier
    assert reached is not None
    return {
        "member_id": plan.member_id,
        "created_at": plan.at,
        "kind": TierChange.Kind.UPGRADE,
        "from_tier": reached.previous,
        "to_tier": reached.tier,
        "window_spend": reached.spend,
        "purchase_id": plan.purchase_id,
        "actor_label": plan.actor_label,
        "reason": Reason(
            "tier_upgrade",
            {
                "tier": reached.name,
                "spend": format_rubles(reached.spend),
                "threshold": format_rubles(reached.qualify_spend),
                "days": reached.window_days,
            },
        ).stored(),
    }
