"""Audiences built from the analytics, e.g. "at risk, P(alive) below 0.5, CLV above 3,000 ₽"."""

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class SegmentRule:
    """Members matching every condition given; an empty rule matches every scored member."""

    rfm_segments: tuple[str, ...] = ()
    p_alive_below: float | None = None
    clv_at_least: int | None = None  # kopecks over the CLV horizon

    def apply(self, customers: pl.DataFrame) -> pl.DataFrame:
        """The rows of `customers` (RFM and CLV per member) in the segment."""
        rows = customers
        if self.rfm_segments:
            rows = rows.filter(pl.col("segment").is_in(list(self.rfm_segments)))
        if self.p_alive_below is not None:
            rows = rows.filter(pl.col("p_alive") < self.p_alive_below)
        if self.clv_at_least is not None:
            rows = rows.filter(pl.col("clv") >= self.clv_at_least)
        return rows
