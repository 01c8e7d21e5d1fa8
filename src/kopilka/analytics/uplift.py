"""Campaign uplift against its control group (`campaigns.control` assigns it).

Uplift compares the targeted group with the control group over the measurement window: the share
of members with a receipt (purchase rate) and net revenue per member, each with the difference
and its 95 % confidence interval (normal approximation: Wald for the difference of two
proportions, Welch's standard error for the difference of two means).
"""

import math
from datetime import date

import polars as pl

Z_95 = 1.959963984540054


def _interval(difference: float, se: float) -> list[float]:
    return [difference - Z_95 * se, difference + Z_95 * se]


def uplift(
    purchases: pl.DataFrame, audience: pl.DataFrame, *, start: date, end: date
) -> dict[str, object]:
    """Targeted vs control over business days [start, end).

    `audience` has member_id and in_control. Revenue figures are kopecks per member.
    """
    window = purchases.filter(
        pl.col("member_id").is_not_null() & pl.col("day").is_between(start, end, closed="left")
    )
    per_member = (
        audience.select("member_id", "in_control")
        .join(
            window.group_by("member_id").agg(
                pl.len().alias("receipts"), pl.col("net").sum().alias("revenue")
            ),
            on="member_id",
            how="left",
        )
        .with_columns(pl.col("receipts", "revenue").fill_null(0))
    )
    groups: dict[str, dict[str, float]] = {}
    for name, held_out in (("target", False), ("control", True)):
        rows = per_member.filter(pl.col("in_control") == held_out)
        n = rows.height
        buyers = rows.filter(pl.col("receipts") > 0).height
        revenue = rows["revenue"].cast(pl.Float64)
        groups[name] = {
            "members": n,
            "buyers": buyers,
            "purchase_rate": buyers / n if n else math.nan,
            "revenue_per_member": float(revenue.mean()) if n else math.nan,  # type: ignore[arg-type]
            "revenue_variance": float(revenue.var()) if n > 1 else math.nan,  # type: ignore[arg-type]
        }
    target, control = groups["target"], groups["control"]
    rate_diff = target["purchase_rate"] - control["purchase_rate"]
    rate_se = math.sqrt(
        target["purchase_rate"] * (1 - target["purchase_rate"]) / max(target["members"], 1)
        + control["purchase_rate"] * (1 - control["purchase_rate"]) / max(control["members"], 1)
    )
    revenue_diff = target["revenue_per_member"] - control["revenue_per_member"]
    revenue_se = math.sqrt(
        target["revenue_variance"] / max(target["members"], 1)
        + control["revenue_variance"] / max(control["members"], 1)
    )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "target": {k: v for k, v in target.items() if k != "revenue_variance"},
        "control": {k: v for k, v in control.items() if k != "revenue_variance"},
        "purchase_rate_difference": rate_diff,
        "purchase_rate_ci95": _interval(rate_diff, rate_se),
        "revenue_per_member_difference": revenue_diff,
        "revenue_per_member_ci95": _interval(revenue_diff, revenue_se),
        "incremental_revenue": revenue_diff * target["members"],
    }
