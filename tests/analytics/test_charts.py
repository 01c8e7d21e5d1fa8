import base64
import io
import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.utils import translation
from PIL import Image

from kopilka.analytics import charts
from kopilka.analytics.rfm import GRID, SEGMENTS

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {key: key.replace("_", " ").title() for key in SEGMENTS}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def parse(svg: str, width: int = charts.WIDE) -> ET.Element:
    """The SVG parses, has an <svg> root fit for inlining, and is responsive."""
    assert svg.startswith("<svg")
    assert "<style" not in svg and "<metadata" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("viewBox", "").startswith(f"0 0 {width} ")
    return root


def texts(svg: str, width: int = charts.WIDE) -> list[str]:
    return [el.text or "" for el in parse(svg, width).iter(f"{SVG}text")]


def title_of(svg: str, width: int = charts.WIDE) -> str:
    """The chart's accessible name: its <title>, the root's first child."""
    root = parse(svg, width)
    assert root.get("role") == "img"
    first = root[0]
    assert first.tag == f"{SVG}title"
    return first.text or ""


def font_sizes(svg: str, width: int = charts.WIDE) -> list[float]:
    return [
        float(re.search(r"font-size: ([\d.]+)px", el.get("style", "")).group(1))  # type: ignore[union-attr]
        for el in parse(svg, width).iter(f"{SVG}text")
    ]


def dashed(svg: str) -> int:
    """How many drawn paths are dashed."""
    return len(re.findall(r"<path [^>]*stroke-dasharray", svg))


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

# Each chart with a title of its own, drawn at a given natural width.
TITLE = "Chart of {name} & <co>"
CHARTS: dict[str, Callable[[str, int], str]] = {
    "rfm": lambda title, width: charts.rfm_grid_chart(
        rfm_grid(), title=title, segment_labels=LABELS, width=width
    ),
    "cohort_retention": lambda title, width: charts.cohort_heatmap(
        cohort_frame(12), title=title, in_progress=date(2024, 12, 20), width=width
    ),
    "cohort_revenue": lambda title, width: charts.cohort_heatmap(
        cohort_frame(30), title=title, value="revenue_per_member", width=width
    ),
    "cohort_empty": lambda title, width: charts.cohort_heatmap(
        cohort_frame(0), title=title, width=width
    ),
    "kpi": lambda title, width: charts.kpi_trend_chart(
        monthly_frame(),
        title=title,
        series=[("revenue", "Revenue"), ("repeat_rate", "Rate")],
        money=True,
        in_progress=date(2026, 6, 3),
        width=width,
    ),
    "kpi_empty": lambda title, width: charts.kpi_trend_chart(
        monthly_frame(0), title=title, series=[], money=False, width=width
    ),
    "histogram": lambda title, width: charts.histogram_chart(
        pl.Series(np.arange(1000) ** 2), title=title, label="CLV", money=True, width=width
    ),
    "uplift": lambda title, width: charts.uplift_chart(UPLIFT, title=title, width=width),
    "uplift_empty": lambda title, width: charts.uplift_chart(
        EMPTY_UPLIFT, title=title, width=width
    ),
    "predicted": lambda title, width: charts.predicted_vs_actual_chart(
        PER_PERIOD, title=title, period_label="Week", width=width
    ),
    "bars": lambda title, width: charts.bar_chart(
        ["a", "b"], [0.25, 0.75], title=title, label="Share", percent=True, width=width
    ),
}
WIDTHS = (charts.WIDE, charts.NARROW)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_is_inlinable_svg_and_deterministic(name: str, width: int) -> None:
    first = CHARTS[name](TITLE.format(name=name), width)
    parse(first, width)
    assert CHARTS[name](TITLE.format(name=name), width) == first


def title_lines(svg: str, width: int = charts.WIDE) -> list[str]:
    """The lines of the title drawn at the top: the only bold text (matplotlib writes each
    line of a multi-line text as its own <text>)."""
    return [
        el.text or ""
        for el in parse(svg, width).iter(f"{SVG}text")
        if "font-weight: 700" in el.get("style", "")
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_shows_its_title_and_is_named_by_it(name: str, width: int) -> None:
    title = TITLE.format(name=name)
    svg = CHARTS[name](title, width)
    assert title_of(svg, width) == title  # escaped in the SVG, read back whole
    assert " ".join(title_lines(svg, width)) == title


def test_a_long_title_wraps_on_a_phone_and_not_on_a_desktop() -> None:
    title = "Revenue per member of each cohort, by month since joining, in roubles"
    narrow = title_lines(CHARTS["cohort_revenue"](title, charts.NARROW), charts.NARROW)
    assert len(narrow) >= 2 and " ".join(narrow) == title
    assert title_lines(CHARTS["cohort_revenue"](title, charts.WIDE)) == [title]


@pytest.mark.parametrize("name", CHARTS)
def test_phone_layouts_are_narrow_and_their_text_stays_readable(name: str) -> None:
    # The narrow chart is shown at about its natural size on a 390 px phone: 360 units wide,
    # with no text under 7 px (the wide one is scaled up on a desktop, so 6 px are readable).
    svg = CHARTS[name](TITLE.format(name=name), charts.NARROW)
    sizes = font_sizes(svg, charts.NARROW)
    assert sizes and min(sizes) >= 7, sorted(sizes)[:5]
    assert max(sizes) == charts.TITLE_SIZE


T = "The title"


class titled:  # the charts with a title, for the tests of what else they draw
    rfm_grid_chart = partial(charts.rfm_grid_chart, title=T)
    cohort_heatmap = partial(charts.cohort_heatmap, title=T)
    kpi_trend_chart = partial(charts.kpi_trend_chart, title=T)
    histogram_chart = partial(charts.histogram_chart, title=T)
    uplift_chart = partial(charts.uplift_chart, title=T)
    predicted_vs_actual_chart = partial(charts.predicted_vs_actual_chart, title=T)
    bar_chart = partial(charts.bar_chart, title=T)


def test_rfm_grid_shows_every_segment_label_and_member_count() -> None:
    grid = rfm_grid()
    shown = texts(titled.rfm_grid_chart(grid, segment_labels=LABELS))
    for label in LABELS.values():
        assert label in shown
    for members in grid["members"]:
        assert f"{members:,}" in shown
    assert "Members" in shown


def test_rfm_grid_falls_back_to_the_segment_key() -> None:
    shown = texts(titled.rfm_grid_chart(rfm_grid(), segment_labels={}))
    assert "champions" in shown and "hibernating" in shown


def test_cohort_heatmap_labels_rows_and_annotates_small_grids() -> None:
    shown = texts(titled.cohort_heatmap(cohort_frame(12)))
    assert "2024-01 (1,000)" in shown and "2024-12 (1,011)" in shown
    assert "100%" in shown and "50%" in shown and "5%" in shown  # month 11 of the first cohort
    money = texts(titled.cohort_heatmap(cohort_frame(3), value="revenue_per_member"))
    assert "25" in money and "8" in money  # 2 500 kopecks and 833 kopecks per member


def test_cohort_heatmap_leaves_large_grids_unannotated_and_fast() -> None:
    frame = cohort_frame(36)
    start = time.perf_counter()
    shown = texts(titled.cohort_heatmap(frame))
    assert time.perf_counter() - start < 1.0
    assert "17%" not in shown and "2026-12 (1,035)" in shown  # 17 % is not a colour-bar tick


def test_cohort_heatmap_of_an_empty_frame_says_no_data() -> None:
    assert texts(titled.cohort_heatmap(cohort_frame(0))) == [T, "No data yet"]


def test_cohort_heatmap_rejects_an_unknown_value() -> None:
    with pytest.raises(ValueError, match="retention"):
        titled.cohort_heatmap(cohort_frame(2), value="active")


def test_kpi_trend_shows_series_labels_months_and_units() -> None:
    shown = texts(
        titled.kpi_trend_chart(
            monthly_frame(), series=[("revenue", "Revenue"), ("repeat_rate", "Rate")], money=True
        )
    )
    # The latest month is always labelled, and the months before it as many as fit.
    assert {"Revenue", "Rate", "2026-06", "2024-03", "₽"} <= set(shown)
    assert "2024-01" not in shown
    assert any(t.endswith(",000") for t in shown)  # roubles with thousands separators
    percent = texts(
        titled.kpi_trend_chart(
            monthly_frame(), series=[("repeat_rate", "Repeat rate")], money=False, percent=True
        )
    )
    # One line needs no legend: the title names it.
    assert "Repeat rate" not in percent and any(t.endswith("%") for t in percent)
    with pytest.raises(ValueError):
        titled.kpi_trend_chart(monthly_frame(), series=[], money=True, percent=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_kpi_trend_marks_the_month_in_progress_instead_of_a_collapse(width: int) -> None:
    # given monthly figures whose last month, June 2026, has only its first days counted
    monthly = monthly_frame().with_columns(
        pl.when(pl.col("month") == date(2026, 6, 1))
        .then(pl.col("revenue") // 10)
        .otherwise(pl.col("revenue"))
        .alias("revenue")
    )
    series = [("revenue", "Revenue")]
    # when the chart is told the figures run to 3 June
    svg = titled.kpi_trend_chart(
        monthly, series=series, money=True, in_progress=date(2026, 6, 3), width=width
    )
    # then the legend says the month is in progress, the segment to it is dashed, its point
    # hollow on a shaded band; and without an open month nothing of it is drawn
    shown = texts(svg, width)
    assert "month in progress" in shown and "2026-06" in shown
    assert dashed(svg) == 2  # the last segment, and its sample in the legend
    assert "fill: #ffffff; stroke: #0072b2" in svg  # the hollow marker
    assert charts.IN_PROGRESS_BAND.lower() in svg.lower()
    for complete in (None, date(2026, 7, 1), date(2026, 5, 31)):
        closed = titled.kpi_trend_chart(
            monthly, series=series, money=True, in_progress=complete, width=width
        )
        assert "month in progress" not in texts(closed, width) and dashed(closed) == 0
        assert charts.IN_PROGRESS_BAND.lower() not in closed.lower()


def test_kpi_trend_marks_a_lone_month_in_progress() -> None:
    svg = titled.kpi_trend_chart(
        monthly_frame(1), series=[("revenue", "Revenue")], money=True, in_progress=date(2024, 1, 9)
    )
    assert "month in progress" in texts(svg)


@pytest.mark.parametrize("width", WIDTHS)
def test_cohort_heatmap_marks_the_cells_of_the_month_in_progress(width: int) -> None:
    # given 12 monthly cohorts of 2024, each with every month up to December
    frame = cohort_frame(12)
    # when December 2024 is still in progress
    svg = titled.cohort_heatmap(frame, in_progress=date(2024, 12, 20), width=width)
    # then each cohort's December cell (12 of them, the last diagonal) is outlined with a dashed
    # line, and a note says what the outline means
    assert dashed(svg) == 12
    assert "Dashed outline: 2024-12, month in progress" in texts(svg, width)
    assert charts.IN_PROGRESS_BAND.lower() not in svg.lower()  # the cells are in the image
    # and a month after the data, or no month at all, marks nothing
    for other in (None, date(2025, 1, 2)):
        plain = titled.cohort_heatmap(frame, in_progress=other, width=width)
        assert dashed(plain) == 0
        assert not any("month in progress" in t for t in texts(plain, width))


def heatmap_cells(svg: str) -> list[list[Any]]:
    """The heatmap's cell colours, row by row: the chart embeds them as one pixel per cell,
    in its first image (the colour bar is the second)."""
    data = re.findall(r'xlink:href="data:image/png;base64,([^"]+)"', svg)[0]
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")
    return [[image.getpixel((x, y)) for x in range(image.width)] for y in range(image.height)]


def test_cohort_heatmap_cells_in_progress_leave_the_colour_scale() -> None:
    # given cohorts of January to March 2024, with March still in progress
    frame = cohort_frame(3)
    marked = titled.cohort_heatmap(frame, value="revenue_per_member", in_progress=date(2024, 3, 5))
    plain = titled.cohort_heatmap(frame, value="revenue_per_member")
    # then the March cells (the last diagonal) are pale grey instead of a colour of the scale,
    # the others keep theirs, and every cell still says its figure
    band = (*(int(charts.IN_PROGRESS_BAND[i : i + 2], 16) for i in (1, 3, 5)), 255)
    before, after = heatmap_cells(plain), heatmap_cells(marked)
    march = {(0, 2), (1, 1), (2, 0)}
    for row in range(3):
        for col in range(3 - row):
            if (row, col) in march:
                assert after[row][col] == band and before[row][col] != band
            else:
                assert after[row][col] == before[row][col]
    assert sorted(texts(marked)) == sorted(
        [*texts(plain), "Dashed outline: 2024-03, month in progress"]
    )


def test_kpi_trend_of_no_months_says_no_data() -> None:
    assert texts(titled.kpi_trend_chart(monthly_frame(0), series=[], money=False)) == [
        T,
        "No data yet",
    ]


def test_histogram_of_a_million_values_is_fast_and_notes_the_clipped_tail() -> None:
    values = pl.Series(np.random.default_rng(1).lognormal(11, 1.2, 1_000_000))
    titled.histogram_chart(values[:10], label="CLV per member", money=True)  # warm caches
    start = time.perf_counter()
    svg = titled.histogram_chart(values, label="CLV per member", money=True)
    assert time.perf_counter() - start < 1.0
    shown = texts(svg)
    assert "CLV per member, ₽" in shown
    assert any("99th percentile" in t for t in shown)
    assert any(t.startswith("Median: ") for t in shown)
    log = texts(titled.histogram_chart(values, label="CLV per member", money=True, log_x=True))
    assert "CLV per member, ₽" in log and not any("99th percentile" in t for t in log)


def test_histogram_skips_nulls_and_nonpositive_values_on_a_log_axis() -> None:
    shown = texts(
        titled.histogram_chart(
            pl.Series([None, 0, -5, 10, 100]), label="x", money=False, log_x=True
        )
    )
    assert "2 values of zero or less are not shown." in shown
    assert texts(titled.histogram_chart(pl.Series([], dtype=pl.Int64), label="x", money=False)) == [
        T,
        "No data yet",
    ]


def test_uplift_chart_shows_rates_and_intervals() -> None:
    shown = texts(titled.uplift_chart(UPLIFT))
    # Matplotlib writes each line of a multi-line label as its own <text>.
    assert {"Purchase rate", "Target", "(n = 9,000)", "Control", "30.0%", "27.0%"} <= set(shown)
    assert "+3.0 pp" in shown and "[0.1; 5.9]" in shown
    assert "+110.0 ₽" in shown and "[-25.0; 245.0]" in shown


def test_uplift_chart_with_an_empty_group_renders_without_crashing() -> None:
    shown = texts(titled.uplift_chart(EMPTY_UPLIFT))
    assert shown.count("Not enough data") == 2
    assert "—" in shown and "30.0%" in shown


def test_predicted_vs_actual_shows_both_lines_and_the_period_label() -> None:
    shown = texts(titled.predicted_vs_actual_chart(PER_PERIOD, period_label="Week"))
    assert {"Actual", "Predicted", "Week", "Cumulative repeat purchases"} <= set(shown)
    assert texts(titled.predicted_vs_actual_chart([], period_label="Week")) == [T, "No data yet"]


def test_bar_chart_shows_labels_and_formatted_values() -> None:
    shown = texts(titled.bar_chart(["Moscow", "Kazan"], [0.125, 0.5], label="Share", percent=True))
    assert {"Moscow", "Kazan", "Share", "12.5%", "50.0%"} <= set(shown)
    money = texts(titled.bar_chart(["Moscow"], [123_456_78], label="Revenue", money=True))
    assert {"Revenue, ₽", "123,457"} <= set(money)
    assert "$5 store" in texts(titled.bar_chart(["$5 store"], [1], label="Members"))
    assert texts(titled.bar_chart([], [], label="Members")) == [T, "No data yet"]


def test_labels_come_from_gettext_at_render_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "_", lambda text: f"«{text}»")
    assert "«Members»" in texts(titled.rfm_grid_chart(rfm_grid(), segment_labels=LABELS))
    assert "«No data yet»" in texts(titled.cohort_heatmap(cohort_frame(0)))


def test_labels_are_translated_to_russian() -> None:
    with translation.override("ru"):
        if translation.gettext("No data yet") == "No data yet":
            pytest.skip("chart strings are not in the Russian catalogue yet")
        shown = texts(titled.cohort_heatmap(cohort_frame(2)))
        assert translation.gettext("Months since joining") in shown
        assert "2024-01 (1\xa0000)" in shown  # Russian thousands separator


def test_concurrent_renders_match_serial_ones() -> None:
    names = ["rfm", "kpi", "uplift", "bars"] * 2
    serial = [CHARTS[name](T, charts.WIDE) for name in names]

    def render(name: str) -> str:
        with translation.override("en"):
            return CHARTS[name](T, charts.WIDE)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(render, names)) == serial
