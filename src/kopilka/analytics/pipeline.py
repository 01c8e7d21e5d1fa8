"""The whole analytics run: read the facts once, compute every table the dashboard shows.

Pure given its inputs (frames, the as-of day, names of stores and staff), so the same run on
SQLite and PostgreSQL data gives identical tables, and a test can compare them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from kopilka.analytics import cohorts, kpi, rfm
from kopilka.analytics.frames import Frames

KPI_WINDOW_DAYS = 30
RFM_MOVEMENT_DAYS = 90


@dataclass
class Report:
    tables: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def report_build(
    frames: Frames,
    *,
    as_of_day: date,
    gross_margin: float,
    stores: pl.DataFrame,
    staff: pl.DataFrame,
) -> Report:
    """Every table of the dashboard as of the start of business day `as_of_day`.

    `stores` has store_id, store; `staff` has user_id, employee.
    """
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = step()
        seconds[name] = round(time.perf_counter() - started, 3)
        return result

    current = kpi.Scope(start=as_of_day - timedelta(days=KPI_WINDOW_DAYS), end=as_of_day)
    previous = kpi.Scope(start=current.start - timedelta(days=KPI_WINDOW_DAYS), end=current.start)
    summary: dict[str, Any] = timed(
        "kpi",
        lambda: {
            "as_of_day": as_of_day.isoformat(),
            "period": {"start": current.start.isoformat(), "end": current.end.isoformat()},
            "kpis": kpi.program_kpis(frames, current, gross_margin=gross_margin),
            "kpis_previous": kpi.program_kpis(frames, previous, gross_margin=gross_margin),
        },
    )
    tables: dict[str, pl.DataFrame] = {}
    tables["kpi_monthly"] = timed("kpi_monthly", lambda: kpi.kpi_monthly(frames))
    tables["stores"] = timed(
        "stores",
        lambda: stores.join(kpi.enrolment_by_store(frames, current), on="store_id", how="right"),
    )
    tables["staff"] = timed(
        "staff",
        lambda: staff.join(kpi.enrolment_by_staff(frames, current), on="user_id", how="right"),
    )
    scores = timed("rfm", lambda: rfm.rfm_scores(frames.purchases, as_of=as_of_day))
    earlier = rfm.rfm_scores(frames.purchases, as_of=as_of_day - timedelta(days=RFM_MOVEMENT_DAYS))
    tables["customers"] = scores
    tables["rfm_segments"] = rfm.rfm_segments(scores)
    tables["rfm_grid"] = rfm.rfm_grid(scores)
    tables["rfm_movement"] = timed("rfm_movement", lambda: rfm.rfm_movement(earlier, scores))
    tables["cohorts"] = timed("cohorts", lambda: cohorts.cohort_table(frames))
    return Report(tables=tables, summary=summary, seconds=seconds)
