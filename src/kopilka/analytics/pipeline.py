"""The whole analytics run: read the facts once, compute every table the dashboard shows.

Pure given its inputs (frames, the as-of day, names of stores and staff), so the same run on
SQLite and PostgreSQL data gives identical tables, and a test can compare them.
"""

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from kopilka.analytics import clv, cohorts, kpi, rfm
from kopilka.analytics.frames import Frames

KPI_WINDOW_DAYS = 30
RFM_MOVEMENT_DAYS = 90
CLV_HORIZON_WEEKS = 26
CLV_HOLDOUT_WEEKS = 13
CLV_MIN_REPEAT_CUSTOMERS = 10  # fewer, and the fits describe noise


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
    summary: dict[str, Any] = timed(
        "kpi",
        lambda: {
            "as_of_day": as_of_day.isoformat(),
            "period": {"start": current.start.isoformat(), "end": current.end.isoformat()},
            "kpis": kpi.program_kpis(frames, current, gross_margin=gross_margin),
            "kpis_previous": kpi.program_kpis(
                frames, current.previous(), gross_margin=gross_margin
            ),
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
    value, tables["clv_holdout"], summary["clv"] = timed(
        "clv", lambda: lifetime_value(frames.purchases, as_of_day=as_of_day)
    )
    tables["customers"] = scores.join(value, on="member_id", how="left")
    tables["rfm_segments"] = rfm.rfm_segments(scores)
    tables["rfm_grid"] = rfm.rfm_grid(scores)
    earlier_day = as_of_day - timedelta(days=RFM_MOVEMENT_DAYS)
    tables["rfm_movement"] = timed(
        "rfm_movement",
        lambda: rfm.rfm_movement(rfm.rfm_scores(frames.purchases, as_of=earlier_day), scores),
    )
    tables["cohorts"] = timed("cohorts", lambda: cohorts.cohort_table(frames))
    return Report(tables=tables, summary=summary, seconds=seconds)


def lifetime_value(
    purchases: pl.DataFrame, *, as_of_day: date
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Per member P(alive), expected purchases and CLV over the next CLV_HORIZON_WEEKS weeks.

    BG/NBD and Gamma-Gamma are fitted on every member's receipts up to the day before
    `as_of_day` (a fully returned receipt is no purchase). The models are checked on the same
    data: fitted again on all but the last CLV_HOLDOUT_WEEKS weeks, they predict those weeks,
    and the prediction is kept beside what happened.
    """
    transactions = purchases.filter(pl.col("member_id").is_not_null() & (pl.col("net") > 0)).select(
        customer_id="member_id", date="day", amount=pl.col("net") / 100
    )
    calibration_end = as_of_day - timedelta(days=1)
    empty = pl.DataFrame(
        schema={
            "member_id": pl.Int64,
            "p_alive": pl.Float64,
            "expected_purchases": pl.Float64,
            "expected_spend": pl.Float64,
            "clv": pl.Float64,
        }
    )
    holdout = pl.DataFrame(schema={"period": pl.Int64, "actual": pl.Int64, "predicted": pl.Float64})
    summary = clv.summary_from_transactions(
        transactions, calibration_end=calibration_end, period="week"
    )
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < CLV_MIN_REPEAT_CUSTOMERS:
        return (
            empty,
            holdout,
            {
                "error": "not_enough_data",
                "customers": summary.height,
                "repeat_customers": repeaters,
                "minimum": CLV_MIN_REPEAT_CUSTOMERS,
            },
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            bgnbd, log_likelihood = clv.bgnbd_fit(
                summary["frequency"], summary["recency"], summary["T"]
            )
            gamma_gamma, _ll = clv.gamma_gamma_fit(summary["frequency"], summary["monetary_value"])
    except (ValueError, ArithmeticError) as exc:
        return empty, holdout, {"error": str(exc), "customers": summary.height}
    x, tx, t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    spend = clv.gamma_gamma_expected_spend(gamma_gamma, x, summary["monetary_value"])
    purchases_ahead = clv.bgnbd_expected_purchases(bgnbd, CLV_HORIZON_WEEKS, x, tx, t)
    value = summary.select(
        member_id="customer_id",
        p_alive=clv.bgnbd_p_alive(bgnbd, x, tx, t),
        expected_purchases=purchases_ahead,
        expected_spend=spend * 100,
        clv=purchases_ahead * spend * 100,
    )
    report: dict[str, Any] = {
        "customers": summary.height,
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "horizon_weeks": CLV_HORIZON_WEEKS,
        "bgnbd": {**asdict(bgnbd), "log_likelihood": log_likelihood},
        "warnings": [str(w.message) for w in caught],
        "gamma_gamma": asdict(gamma_gamma),
    }
    check_end = calibration_end - timedelta(weeks=CLV_HOLDOUT_WEEKS)
    earlier = clv.summary_from_transactions(transactions, calibration_end=check_end, period="week")
    try:
        check, _ll = clv.bgnbd_fit(earlier["frequency"], earlier["recency"], earlier["T"])
    except (ValueError, ArithmeticError) as exc:
        report["holdout"] = {"error": str(exc)}
        return value, holdout, report
    result = clv.holdout_report(
        earlier,
        check,
        calibration_end=check_end,
        observation_end=calibration_end,
        period="week",
        transactions=transactions,
    )
    per_period = result.pop("per_period")
    report["holdout"] = result | {"calibration_end": check_end.isoformat()}
    return value, pl.DataFrame(per_period, schema=holdout.schema), report
