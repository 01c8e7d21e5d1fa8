"""Monthly acquisition cohorts: of the members who joined in a month, how many buy k months later.

A member's cohort is the business month they enrolled in; month 0 is that month. Retention is
the share of the cohort with at least one receipt in month k; revenue per member is the cohort's
net revenue in month k divided by the cohort's size (every member, buyers or not), so the rows
of the heatmap compare cohorts of different sizes fairly. Every (cohort, k) cell up to the last
month of data is present, with zeros where nobody bought.
"""

import polars as pl

from kopilka.analytics.frames import Frames


def _month_number(column: str) -> pl.Expr:
    return pl.col(column).dt.year().cast(pl.Int32) * 12 + pl.col(column).dt.month().cast(pl.Int32)


def cohort_table(frames: Frames, *, store_id: int | None = None) -> pl.DataFrame:
    """Long table: cohort (first day of month), month_index, cohort_size, active, retention,
    revenue, revenue_per_member."""
    members = frames.members
    if store_id is not None:
        members = members.filter(pl.col("enrolled_store_id") == store_id)
    members = members.select("member_id", _month_number("day").alias("cohort_n"))
    sizes = members.group_by("cohort_n").len("cohort_size")
    activity = (
        frames.purchases.lazy()
        .filter(pl.col("member_id").is_not_null())
        .select("member_id", "net", _month_number("day").alias("month_n"))
        .join(members.lazy(), on="member_id", how="inner")
        .with_columns((pl.col("month_n") - pl.col("cohort_n")).alias("month_index"))
        .filter(pl.col("month_index") >= 0)  # receipts before enrolment day count from month 0
        .group_by("cohort_n", "month_index", "member_id")
        .agg(pl.col("net").sum())
        .group_by("cohort_n", "month_index")
        .agg(pl.len().alias("active"), pl.col("net").sum().alias("revenue"))
        .collect()
    )
    if sizes.is_empty():
        return _empty()
    last = max(
        int(frames.purchases.select(_month_number("day").max()).item() or 0),
        int(sizes["cohort_n"].max()),  # type: ignore[arg-type]
    )
    grid = sizes.with_columns(
        pl.int_ranges(0, last - pl.col("cohort_n") + 1).alias("month_index")
    ).explode("month_index")
    return (
        grid.join(activity, on=["cohort_n", "month_index"], how="left")
        .with_columns(
            pl.col("active").fill_null(0).cast(pl.Int64),
            pl.col("revenue").fill_null(0).cast(pl.Int64),
            pl.date((pl.col("cohort_n") - 1) // 12, (pl.col("cohort_n") - 1) % 12 + 1, 1).alias(
                "cohort"
            ),
        )
        .with_columns(
            (pl.col("active") / pl.col("cohort_size")).alias("retention"),
            (pl.col("revenue") / pl.col("cohort_size")).alias("revenue_per_member"),
        )
        .select(
            "cohort",
            pl.col("month_index").cast(pl.Int32),
            pl.col("cohort_size").cast(pl.Int64),
            "active",
            "retention",
            "revenue",
            "revenue_per_member",
        )
        .sort("cohort", "month_index")
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "cohort": pl.Date,
            "month_index": pl.Int32,
            "cohort_size": pl.Int64,
            "active": pl.Int64,
            "retention": pl.Float64,
            "revenue": pl.Int64,
            "revenue_per_member": pl.Float64,
        }
    )
