import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import polars as pl
import pytest
from django.utils import translation

from kopilka.analytics import charts
from kopilka.analytics.rfm import GRID, SEGMENTS

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {key: key.replace("_", " ").title() for key in SEGMENTS}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def parse(svg: str) -> ET.Element:
    """The SVG parses, has an <svg> root fit for inlining, and is responsive."""
    assert svg.startswith("<svg")
    assert "<style" not in svg and "<metadata" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("viewBox", "").startswith("0 0 720 ")
    return root


def texts(svg: str) -> list[str]:
    return [el.text or "" for el in parse(svg).iter(f"{SVG}text")]


def rfm_grid() -> pl.DataFrame:
    members = [0 if i == 7 else 37 * i + 1000 * (i % 4) for i in range(25)]
    return GRID.with_columns(
        pl.Series("members", members), pl.Series("revenue", [m * 150_00 for m in members])
    )


def cohort_frame(n: int) -> pl.DataFrame:
    rows = [
        (
            date(2024 + c // 12, c % 12 + 1, 1),
            k,
            1000 + c,
            1.0 if k == 0 else 0.5 / k,
            2500.0 / (k + 1),
        )
        for c in range(n)
        for k in range(n - c)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "cohort": pl.Date,
            "month_index": pl.Int32,
            "cohort_size": pl.Int64,
            "retention": pl.Float64,
            "revenue_per_member": pl.Float64,
        },
        orient="row",
    ).with_columns((pl.col("cohort_size") * pl.col("retention")).cast(pl.Int64).alias("active"))


def monthly_frame(n: int = 30) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [date(2024 + i // 12, i % 12 + 1, 1) for i in range(n)],
            "revenue": [100_000_00 + 1_000_00 * i for i in range(n)],
            "repeat_rate": [0.2 + 0.005 * i for i in range(n)],
        }
    )


UPLIFT = {
    "target": {
        "members": 9000,
        "buyers": 2700,
        "purchase_rate": 0.3,
        "revenue_per_member": 1520_00.0,
    },
    "control": {
        "members": 1000,
        "buyers": 270,
        "purchase_rate": 0.27,
        "revenue_per_member": 1410_00.0,
    },
    "purchase_rate_difference": 0.03,
    "purchase_rate_ci95": [0.001, 0.059],
    "revenue_per_member_difference": 110_00.0,
    "revenue_per_member_ci95": [-25_00.0, 245_00.0],
}
NAN = math.nan
EMPTY_UPLIFT = {
    "target": {"members": 10, "buyers": 3, "purchase_rate": 0.3, "revenue_per_member": 1000.0},
    "control": {"members": 0, "buyers": 0, "purchase_rate": NAN, "revenue_per_member": NAN},
    "purchase_rate_difference": NAN,
    "purchase_rate_ci95": [NAN, NAN],
    "revenue_per_member_difference": NAN,
    "revenue_per_member_ci95": [NAN, NAN],
}
PER_PERIOD = [
    {"period": p, "actual": 500.0 - 9 * p + (p % 3) * 5, "predicted": 495.0 - 9 * p}
    for p in range(1, 27)
]

CHARTS: dict[str, Callable[[], str]] = {
    "rfm": lambda: charts.rfm_grid_chart(rfm_grid(), segment_labels=LABELS),
    "cohort_retention": lambda: charts.cohort_heatmap(cohort_frame(12)),
    "cohort_revenue": lambda: charts.cohort_heatmap(cohort_frame(30), value="revenue_per_member"),
    "kpi": lambda: charts.kpi_trend_chart(
        monthly_frame(), series=[("revenue", "Revenue")], money=True
    ),
    "histogram": lambda: charts.histogram_chart(
        pl.Series(np.arange(1000) ** 2), label="CLV", money=True
    ),
    "uplift": lambda: charts.uplift_chart(UPLIFT),
    "uplift_empty": lambda: charts.uplift_chart(EMPTY_UPLIFT),
    "predicted": lambda: charts.predicted_vs_actual_chart(PER_PERIOD, period_label="Week"),
    "bars": lambda: charts.bar_chart(["a", "b"], [0.25, 0.75], label="Share", percent=True),
}


@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_is_inlinable_svg_and_deterministic(name: str) -> None:
    first = CHARTS[name]()
    parse(first)
    assert CHARTS[name]() == first


def test_rfm_grid_shows_every_segment_label_and_member_count() -> None:
    grid = rfm_grid()
    shown = texts(charts.rfm_grid_chart(grid, segment_labels=LABELS))
    for label in LABELS.values():
        assert label in shown
    for members in grid["members"]:
        assert f"{members:,}" in shown
    assert "Members" in shown


def test_rfm_grid_falls_back_to_the_segment_key() -> None:
    shown = texts(charts.rfm_grid_chart(rfm_grid(), segment_labels={}))
    assert "champions" in shown and "hibernating" in shown


def test_cohort_heatmap_labels_rows_and_annotates_small_grids() -> None:
    shown = texts(charts.cohort_heatmap(cohort_frame(12)))
    assert "2024-01 (1,000)" in shown and "2024-12 (1,011)" in shown
    assert "100%" in shown and "50%" in shown and "5%" in shown  # month 11 of the first cohort
    money = texts(charts.cohort_heatmap(cohort_frame(3), value="revenue_per_member"))
    assert "25" in money and "8" in money  # 2 500 kopecks and 833 kopecks per member


def test_cohort_heatmap_leaves_large_grids_unannotated_and_fast() -> None:
    frame = cohort_frame(36)
    start = time.perf_counter()
    shown = texts(charts.cohort_heatmap(frame))
    assert time.perf_counter() - start < 1.0
    assert "17%" not in shown and "2026-12 (1,035)" in shown  # 17 % is not a colour-bar tick


def test_cohort_heatmap_of_an_empty_frame_says_no_data() -> None:
    assert texts(charts.cohort_heatmap(cohort_frame(0))) == ["No data yet"]


def test_cohort_heatmap_rejects_an_unknown_value() -> None:
    with pytest.raises(ValueError, match="retention"):
        charts.cohort_heatmap(cohort_frame(2), value="active")


def test_kpi_trend_shows_series_labels_months_and_units() -> None:
    shown = texts(
        charts.kpi_trend_chart(
            monthly_frame(), series=[("revenue", "Revenue"), ("repeat_rate", "Rate")], money=True
        )
    )
    assert {"Revenue", "Rate", "2024-01", "₽"} <= set(shown)
    assert any(t.endswith(",000") for t in shown)  # roubles with thousands separators
    percent = texts(
        charts.kpi_trend_chart(
            monthly_frame(), series=[("repeat_rate", "Repeat rate")], money=False, percent=True
        )
    )
    assert "Repeat rate" in percent and any(t.endswith("%") for t in percent)
    with pytest.raises(ValueError):
        charts.kpi_trend_chart(monthly_frame(), series=[], money=True, percent=True)


def test_kpi_trend_of_no_months_says_no_data() -> None:
    assert texts(charts.kpi_trend_chart(monthly_frame(0), series=[], money=False)) == [
        "No data yet"
    ]


def test_histogram_of_a_million_values_is_fast_and_notes_the_clipped_tail() -> None:
    values = pl.Series(np.random.default_rng(1).lognormal(11, 1.2, 1_000_000))
    charts.histogram_chart(values[:10], label="CLV per member", money=True)  # warm caches
    start = time.perf_counter()
    svg = charts.histogram_chart(values, label="CLV per member", money=True)
    assert time.perf_counter() - start < 1.0
    shown = texts(svg)
    assert "CLV per member, ₽" in shown
    assert any("99th percentile" in t for t in shown)
    assert any(t.startswith("Median: ") for t in shown)
    log = texts(charts.histogram_chart(values, label="CLV per member", money=True, log_x=True))
    assert "CLV per member, ₽" in log and not any("99th percentile" in t for t in log)


def test_histogram_skips_nulls_and_nonpositive_values_on_a_log_axis() -> None:
    shown = texts(
        charts.histogram_chart(
            pl.Series([None, 0, -5, 10, 100]), label="x", money=False, log_x=True
        )
    )
    assert "2 values of zero or less are not shown." in shown
    assert texts(charts.histogram_chart(pl.Series([], dtype=pl.Int64), label="x", money=False)) == [
        "No data yet"
    ]


def test_uplift_chart_shows_rates_and_intervals() -> None:
    shown = texts(charts.uplift_chart(UPLIFT))
    # Matplotlib writes each line of a multi-line label as its own <text>.
    assert {"Purchase rate", "Target", "(n = 9,000)", "Control", "30.0%", "27.0%"} <= set(shown)
    assert "+3.0 pp" in shown and "[0.1; 5.9]" in shown
    assert "+110.0 ₽" in shown and "[-25.0; 245.0]" in shown


def test_uplift_chart_with_an_empty_group_renders_without_crashing() -> None:
    shown = texts(charts.uplift_chart(EMPTY_UPLIFT))
    assert shown.count("Not enough data") == 2
    assert "—" in shown and "30.0%" in shown


def test_predicted_vs_actual_shows_both_lines_and_the_period_label() -> None:
    shown = texts(charts.predicted_vs_actual_chart(PER_PERIOD, period_label="Week"))
    assert {"Actual", "Predicted", "Week", "Cumulative repeat purchases"} <= set(shown)
    assert texts(charts.predicted_vs_actual_chart([], period_label="Week")) == ["No data yet"]


def test_bar_chart_shows_labels_and_formatted_values() -> None:
    shown = texts(charts.bar_chart(["Moscow", "Kazan"], [0.125, 0.5], label="Share", percent=True))
    assert {"Moscow", "Kazan", "Share", "12.5%", "50.0%"} <= set(shown)
    money = texts(charts.bar_chart(["Moscow"], [123_456_78], label="Revenue", money=True))
    assert {"Revenue, ₽", "123,457"} <= set(money)
    assert "$5 store" in texts(charts.bar_chart(["$5 store"], [1], label="Members"))
    assert texts(charts.bar_chart([], [], label="Members")) == ["No data yet"]


def test_labels_come_from_gettext_at_render_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "_", lambda text: f"«{text}»")
    assert "«Members»" in texts(charts.rfm_grid_chart(rfm_grid(), segment_labels=LABELS))
    assert "«No data yet»" in texts(charts.cohort_heatmap(cohort_frame(0)))


def test_labels_are_translated_to_russian() -> None:
    with translation.override("ru"):
        if translation.gettext("No data yet") == "No data yet":
            pytest.skip("chart strings are not in the Russian catalogue yet")
        shown = texts(charts.cohort_heatmap(cohort_frame(2)))
        assert translation.gettext("Months since joining") in shown
        assert "2024-01 (1\xa0000)" in shown  # Russian thousands separator


def test_concurrent_renders_match_serial_ones() -> None:
    names = ["rfm", "kpi", "uplift", "bars"] * 2
    serial = [CHARTS[name]() for name in names]

    def render(name: str) -> str:
        with translation.override("en"):
            return CHARTS[name]()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(render, names)) == serial
