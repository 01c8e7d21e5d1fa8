"""Program KPIs: does the program reach customers, change what they do, and pay for itself?

Definitions (also shown on the KPI page; money in kopecks, a period is [start, end) in business
days):
- revenue: receipt totals after discounts, before points, less what was returned of those
  receipts;
- active members: members with at least one receipt in the period;
- repeat rate: share of active members with two or more receipts in the period;
- frequency: member receipts per active member;
- points earned / redeemed: by the day of the receipt, less what returns took back or refunded
  on the day of the return;
- redemption rate: redeemed ÷ earned; breakage: expired ÷ (expired + redeemed), both over the
  period;
- liability: points held by all members at the end of the period, valued at what they pay;
- program cost: the value of the points redeemed, the discounts given other than vouchers' (less
  what returns gave back), and what the vouchers used cost the business (their rewards' cost: a
  free coffee costs its 30 ₽, not its price); simple ROI: the extra revenue
  of member receipts over the guest average receipt, times the gross margin, less the cost,
  over the cost. It credits the program with every difference between members and guests, so
  it is an upper bound: the control-group uplift (uplift.py) is the honest measure.
"""

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from kopilka.analytics.frames import Frames, business_day_bounds
from kopilka.program.engine import Program, program_cost

# Points are valued at the default program's point value (1 ₽); a version with another value
# is not yet reflected here (docs/architecture.md, "Analytics and the point value").
POINT_VALUE = Program().point_value


@dataclass(frozen=True)
class Scope:
    """Which slice to measure: a period, optionally one store and/or one segment of members."""

    start: date
    end: date  # exclusive
    store_id: int | None = None
    member_ids: frozenset[int] | None = None

    def filter(self, frame: pl.DataFrame) -> pl.DataFrame:
        rows = frame.filter(business_day_bounds(self.start, self.end))
        if self.store_id is not None:
            rows = rows.filter(pl.col("store_id") == self.store_id)
        if self.member_ids is not None:
            rows = rows.filter(pl.col("member_id").is_in(list(self.member_ids)))
        return rows

    def previous(self) -> "Scope":
        """The period of the same length just before, same store and segment: to compare with."""
        return replace(self, start=self.start - (self.end - self.start), end=self.start)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def program_kpis(frames: Frames, scope: Scope, *, gross_margin: float) -> dict[str, float | None]:
    """The program's KPIs for `scope` as a flat name → number mapping."""
    bought = scope.filter(frames.purchases)
    returns = scope.filter(frames.returns)
    by_members = bought.filter(pl.col("member_id").is_not_null())
    guests = bought.filter(pl.col("member_id").is_null())
    per_member = by_members.group_by("member_id").len()
    active = per_member.height
    enrolled = frames.members.filter(business_day_bounds(scope.start, scope.end))
    if scope.store_id is not None:
        enrolled = enrolled.filter(pl.col("enrolled_store_id") == scope.store_id)

    revenue = int(bought["net"].sum())
    member_revenue = int(by_members["net"].sum())
    earned = int(bought["earn_points"].sum()) - int(returns["earn_reversed"].sum())
    redeemed = int(bought["redeem_points"].sum()) - int(returns["redeem_refunded"].sum())
    avg_member = _ratio(member_revenue, by_members.height)
    avg_guest = _ratio(int(guests["net"].sum()), guests.height)
    discounts = int(bought["discount"].sum()) - int(returns["discount"].sum())
    rewards_cost = int(bought["rewards_cost"].sum())
    voucher_discount = int(bought["voucher_discount"].sum())
    cost = program_cost(redeemed, discounts - voucher_discount, rewards_cost, POINT_VALUE)
    kpis: dict[str, float | None] = {
        "receipts": bought.height,
        "member_receipts": by_members.height,
        "revenue": revenue,
        "member_revenue": member_revenue,
        "member_revenue_share": _ratio(member_revenue, revenue),
        "members_enrolled": enrolled.height,
        "active_members": active,
        "repeat_rate": _ratio(per_member.filter(pl.col("len") >= 2).height, active),
        "purchase_frequency": _ratio(by_members.height, active),
        "avg_receipt_member": avg_member,
        "avg_receipt_guest": avg_guest,
        "points_earned": earned,
        "points_redeemed": redeemed,
        "redemption_rate": _ratio(redeemed, earned),
        "discounts": discounts,
        "rewards_cost": rewards_cost,
        "program_cost": cost,
        "program_cost_share": _ratio(cost, revenue),
        "roi": None,
        "points_expired": None,
        "breakage_rate": None,
        "liability_points": None,
        "liability_money": None,
    }
    if avg_member is not None and avg_guest is not None and cost:
        extra_revenue = (avg_member - avg_guest) * by_members.height
        kpis["roi"] = (extra_revenue * gross_margin - cost) / cost
    if scope.store_id is None and scope.member_ids is None:
        # Expiry and adjustments belong to no store, so they are program-wide figures only.
        expired = -int(
            frames.adjustments.filter(
                business_day_bounds(scope.start, scope.end) & (pl.col("kind") == "expire")
            )["points"].sum()
        )
        held = points_held(frames, until=scope.end)
        kpis |= {
            "points_expired": expired,
            "breakage_rate": _ratio(expired, expired + redeemed),
            "liability_points": held,
            "liability_money": held * POINT_VALUE,
        }
    return kpis


def points_held(frames: Frames, *, until: date) -> int:
    """Points held by all members at the start of business day `until` (pending included)."""
    before = pl.col("day") < until
    bought = frames.purchases.filter(before)
    returns = frames.returns.filter(before)
    return (
        int(bought["earn_points"].sum())
        - int(bought["redeem_points"].sum())
        - int(returns["earn_reversed"].sum())
        + int(returns["redeem_refunded"].sum())
        + int(frames.adjustments.filter(before)["points"].sum())
    )


def kpi_monthly(frames: Frames, *, store_id: int | None = None) -> pl.DataFrame:
    """Month by month: revenue, member share, active members, average receipts, points."""
    month = pl.col("day").dt.truncate("1mo").alias("month")
    bought = frames.purchases
    if store_id is not None:
        bought = bought.filter(pl.col("store_id") == store_id)
    is_member = pl.col("member_id").is_not_null()
    return (
        bought.lazy()
        .group_by(month)
        .agg(
            pl.len().alias("receipts"),
            pl.col("net").sum().alias("revenue"),
            pl.col("net").filter(is_member).sum().alias("member_revenue"),
            pl.col("member_id").drop_nulls().n_unique().alias("active_members"),
            pl.col("net").filter(is_member).mean().alias("avg_receipt_member"),
            pl.col("net").filter(~is_member).mean().alias("avg_receipt_guest"),
            pl.col("earn_points").sum().alias("points_earned_gross"),
            pl.col("redeem_points").sum().alias("points_redeemed_gross"),
        )
        .with_columns((pl.col("member_revenue") / pl.col("revenue")).alias("member_revenue_share"))
        .sort("month")
        .collect()
    )


def enrolment_by_store(frames: Frames, scope: Scope) -> pl.DataFrame:
    """Per store: members enrolled, receipts, member share of receipts and of revenue, and the
    share of member receipts where points were spent."""
    enrolled = (
        frames.members.filter(business_day_bounds(scope.start, scope.end))
        .group_by(pl.col("enrolled_store_id").alias("store_id"))
        .len("members_enrolled")
    )
    is_member = pl.col("member_id").is_not_null()
    sales = (
        frames.purchases.filter(business_day_bounds(scope.start, scope.end))
        .group_by("store_id")
        .agg(
            pl.len().alias("receipts"),
            is_member.sum().alias("member_receipts"),
            pl.col("net").sum().alias("revenue"),
            pl.col("net").filter(is_member).sum().alias("member_revenue"),
            (is_member & (pl.col("redeem_points") > 0)).sum().alias("redeem_receipts"),
        )
    )
    counts = ["receipts", "member_receipts", "redeem_receipts", "revenue", "member_revenue"]
    return (
        sales.join(enrolled, on="store_id", how="full", coalesce=True)
        .with_columns(pl.col(*counts, "members_enrolled").fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.col("member_receipts") / pl.col("receipts")).alias("member_receipt_share"),
            (pl.col("member_revenue") / pl.col("revenue")).alias("member_revenue_share"),
            # Members spend points when the cashier tells them they can: the till's own trace
            # of staff explaining the program.
            (pl.col("redeem_receipts") / pl.col("member_receipts")).alias("redeem_receipt_share"),
        )
        .sort("store_id", nulls_last=True)
    )


def enrolment_by_staff(frames: Frames, scope: Scope) -> pl.DataFrame:
    """Per employee: members enrolled in the period and how many of them bought again since."""
    enrolled = frames.members.filter(business_day_bounds(scope.start, scope.end))
    if scope.store_id is not None:
        enrolled = enrolled.filter(pl.col("enrolled_store_id") == scope.store_id)
    enrolled_ids = enrolled.select("member_id").lazy()
    buyers = (
        frames.purchases.lazy()
        .join(enrolled_ids, on="member_id", how="semi")
        .group_by("member_id")
        .len("receipts")
        .collect()
    )
    return (
        enrolled.join(buyers, on="member_id", how="left")
        .group_by(pl.col("enrolled_by_id").alias("user_id"))
        .agg(
            pl.len().alias("members_enrolled"),
            (pl.col("receipts").fill_null(0) >= 2).sum().alias("members_returned"),
        )
        .with_columns(
            (pl.col("members_returned") / pl.col("members_enrolled")).alias("return_rate")
        )
        .sort("members_enrolled", "user_id", descending=[True, False], nulls_last=True)
    )
