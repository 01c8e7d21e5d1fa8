"""RFM: recency, frequency and monetary quintile scores and the usual named segments.

Every member with a receipt before the as-of day is scored. Recency is days since the last
receipt; frequency and monetary count receipts and net revenue in the window (default 365 days)
before the as-of day. Each score is the quintile of the member's rank, 1 (worst) to 5 (best):
score = 1 + ⌊5 · (rank − 1) / n⌋ with ranks 1…n from worst to best and ties broken by member
id, so the five groups are equal in size even when thousands of members share one value (most
customers buy once). The segment comes from the R and F scores, the 5 × 5 grid used across the
RFM literature and tools.
"""

from datetime import date, timedelta

import polars as pl

SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
)


def segment_of(r: int, f: int) -> str:
    """The named segment of an (R, F) cell of the grid."""
    if r <= 2:
        return "hibernating" if f <= 2 else "at_risk" if f <= 4 else "cant_lose"
    if r == 3:
        return "about_to_sleep" if f <= 2 else "need_attention" if f == 3 else "loyal"
    if f == 1:
        return "promising" if r == 4 else "new"
    if f <= 3:
        return "potential_loyalists"
    return "champions" if r == 5 else "loyal"


GRID = pl.DataFrame(
    [(r, f, segment_of(r, f)) for r in range(1, 6) for f in range(1, 6)],
    schema={"r": pl.Int8, "f": pl.Int8, "segment": pl.String},
    orient="row",
)


def _with_quintile(members: pl.DataFrame, value: pl.Expr, name: str) -> pl.DataFrame:
    """Add score `name`: members sorted worst to best by `value`, ties by member id."""
    n = max(members.height, 1)
    return (
        members.sort(value, "member_id")
        .with_row_index("rank")
        .with_columns((1 + pl.col("rank") * 5 // n).cast(pl.Int8).alias(name))
        .drop("rank")
    )


def rfm_scores(purchases: pl.DataFrame, *, as_of: date, window_days: int = 365) -> pl.DataFrame:
    """Per member: recency_days, frequency, monetary (kopecks), r, f, m and segment."""
    in_window = pl.col("day") >= as_of - timedelta(days=window_days)
    members = (
        purchases.lazy()
        .filter(pl.col("member_id").is_not_null() & (pl.col("day") < as_of))
        .group_by("member_id")
        .agg(
            (pl.lit(as_of) - pl.col("day").max()).dt.total_days().alias("recency_days"),
            in_window.sum().cast(pl.Int64).alias("frequency"),
            pl.when(in_window).then(pl.col("net")).otherwise(0).sum().alias("monetary"),
        )
        .collect()
    )
    members = _with_quintile(members, -pl.col("recency_days"), "r")
    members = _with_quintile(members, pl.col("frequency"), "f")
    members = _with_quintile(members, pl.col("monetary"), "m")
    return members.join(GRID, on=["r", "f"], how="left").sort("member_id")


def rfm_segments(scores: pl.DataFrame) -> pl.DataFrame:
    """Per segment: members, share of members, revenue in the window and its share, averages."""
    total_members = max(scores.height, 1)
    total_revenue = int(scores["monetary"].sum()) or 1
    sizes = scores.group_by("segment").agg(
        pl.len().alias("members"),
        pl.col("monetary").sum().alias("revenue"),
        pl.col("recency_days").mean().alias("avg_recency_days"),
        pl.col("frequency").mean().alias("avg_frequency"),
        pl.col("monetary").mean().alias("avg_monetary"),
    )
    return (
        pl.DataFrame({"segment": list(SEGMENTS)})
        .join(sizes, on="segment", how="left")
        .with_columns(pl.col("members", "revenue").fill_null(0))
        .with_columns(
            (pl.col("members") / total_members).alias("member_share"),
            (pl.col("revenue") / total_revenue).alias("revenue_share"),
        )
    )


def rfm_grid(scores: pl.DataFrame) -> pl.DataFrame:
    """The 5 × 5 R × F grid: members and revenue per cell, with the cell's segment."""
    cells = scores.group_by("r", "f").agg(
        pl.len().alias("members"), pl.col("monetary").sum().alias("revenue")
    )
    return (
        GRID.join(cells, on=["r", "f"], how="left")
        .with_columns(pl.col("members", "revenue").fill_null(0))
        .sort("r", "f")
    )


def rfm_movement(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """How many members moved from each segment to each other between two scorings.

    Members first scored in `after` come from the segment "none" (they had no receipt yet).
    """
    moves = after.select("member_id", pl.col("segment").alias("to_segment")).join(
        before.select("member_id", pl.col("segment").alias("from_segment")),
        on="member_id",
        how="left",
    )
    return (
        moves.with_columns(pl.col("from_segment").fill_null("none"))
        .group_by("from_segment", "to_segment")
        .len("members")
        .sort("from_segment", "to_segment")
    )
