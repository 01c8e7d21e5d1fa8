"""Server-side SVG charts for the analytics back office.

Every function takes the frames the analytics modules produce and a title, and returns an SVG
document as a string, ready to be inlined in a template: no XML prolog, width="100%" with the
viewBox kept, so the chart scales with its container. Each chart comes in two natural widths:
WIDE (720 units) for a desktop and NARROW (360) for a phone, where a 390 px screen shows it
about 1:1 and 10 px text stays 10 px; the narrow layouts stack panels, thin out ticks and drop
what only repeats the numbers. The title is drawn at the top and is the SVG's accessible name.

Text stays text (svg.fonttype "none"): searchable, translatable and small. Labels come from the
caller or from gettext at render time, so the active language applies, and numbers use the
active locale's separators. Money arrives in kopecks and is shown in roubles. A month still in
progress (given by `in_progress`, a day of that month) is drawn as such, lighter and dashed
with a "month in progress" label, instead of as a collapse of the last month.

Matplotlib is used through Figure only, never pyplot. rcParams are process-global (and so are
matplotlib's font caches), so a render holds a lock: charts render one at a time per process.
Figures have fixed margins in inches instead of a layout engine, which would draw each figure
twice per save; heatmaps are one small pixelated image instead of a path per cell. Both keep
every chart well under 200 ms and the SVG small.
"""

import html
import io
import math
import re
import textwrap
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import matplotlib
import numpy as np
import polars as pl
from cycler import cycler
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import Formatter, MaxNLocator, NullLocator
from matplotlib.typing import RcKeyType

WIDE = 720  # natural widths in SVG units, 72 per inch
NARROW = 360
WIDTH = WIDE / 72  # inches, the wide layout
TITLE_SIZE = 12.0
# Okabe & Ito's colour-blind-safe palette, calmest first.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
)
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY)
GREY = "#8C8C8C"
IN_PROGRESS_BAND = "#EDEDED"
DASHED = (0, (3.0, 2.0))
HEATMAP: Colormap = matplotlib.colormaps["cividis"]
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "kopilka",  # clip-path and marker ids are hashes: a fixed salt, same output
    "text.parse_math": False,  # a "$" in a store's name is just a dollar sign
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "text.color": "#222222",
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#AAAAAA",
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "grid.color": "#E6E6E6",
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
}
_LOCK = threading.Lock()


@contextmanager
def _style() -> Iterator[None]:
    with _LOCK, matplotlib.rc_context(_RC):
        yield


def _inches(width: int) -> float:
    if width < 240:
        raise ValueError(f"a chart needs at least 240 units of width, not {width}")
    return width / 72


def _narrow(width: int) -> bool:
    return width < WIDE * 0.75


def _figure(
    height: float,
    *,
    title: str,
    width: int = WIDE,
    left: float,
    right: float = 0.3,
    top: float = 0.4,
    bottom: float = 0.6,
) -> Figure:
    """A figure `width` units wide: its title at the top, then `height` inches with margins in
    inches around its subplots (the title's lines come on top of `height` and of `top`)."""
    w = _inches(width)
    lines = _wrap(title, w - 0.25, TITLE_SIZE, bold=True)
    title_height = 0.12 + len(lines) * TITLE_SIZE * 1.25 / 72
    total = height + title_height
    fig = Figure(figsize=(w, total), dpi=72)
    fig.subplots_adjust(
        left=left / w,
        right=1 - right / w,
        bottom=bottom / total,
        top=1 - (top + title_height) / total,
    )
    fig.text(
        0.12 / w,
        1 - 0.1 / total,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        linespacing=1.15,
    )
    return fig


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog or DOCTYPE: inline in HTML
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    # Matplotlib sets round joins with a global `*{...}` stylesheet, which would leak into the
    # page when inlined; the same values as inherited attributes of the root do the same job.
    svg = re.sub(r"\s*<style[^>]*>[^<]*</style>", "", svg, count=1)
    svg = re.sub(r"\s*<defs>\s*</defs>", "", svg)
    svg = re.sub(r' id="[\w.]+_\d+"', "", svg)  # group ids (axes_1…) would clash between charts
    svg = re.sub(
        r'width="[\d.]+pt" height="[\d.]+pt"',
        'width="100%" role="img" stroke-linejoin="round" stroke-linecap="butt"',
        svg,
        count=1,
    )
    # The title as the chart's accessible name (screen readers, and a tooltip).
    head = svg.index(">") + 1
    return f"{svg[:head]}\n <title>{html.escape(title, quote=False)}</title>{svg[head:]}"


def _font(size: float, bold: bool = False) -> FontProperties:
    return FontProperties(size=size, weight="bold" if bold else "normal")


def _width(texts: Iterable[str], size: float = 10.0, *, bold: bool = False) -> float:
    """The widest of `texts` in inches, as matplotlib measures it."""
    prop = _font(size, bold)
    widths = [
        text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]
        for t in texts
        for line in t.split("\n")
    ]
    return max(widths, default=0.0) / 72


def _wrap(text: str, width: float, size: float = 10.0, *, bold: bool = False) -> list[str]:
    """`text` broken into lines at most `width` inches wide (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _width([f"{lines[-1]} {word}"], size, bold=bold) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _tick_room(top: float, suffix: str = "") -> float:
    """Inches for the labels of a numeric axis reaching about `top`, with room to spare."""
    return _width([f"-{_number(abs(top) * 1.3, 1)}{suffix}"]) + 0.12


def _number(value: float, decimals: int = 0) -> str:
    value = round(float(value), decimals) + 0.0  # no "-0"
    return str(number_format(value, decimal_pos=decimals, force_grouping=True))


def _month_key(day: date) -> int:
    return day.year * 12 + day.month - 1


class _Ticks(Formatter):
    """Locale-aware tick labels with as many decimals as the tick step needs."""

    def __init__(self, suffix: str = "", *, log: bool = False) -> None:
        self.suffix, self.log, self.decimals = suffix, log, 0

    def set_locs(self, locs: list[float]) -> None:
        steps = np.abs(np.diff(np.asarray(locs, dtype=float)))
        step = float(steps.min()) if steps.size else 1.0
        self.decimals = next(
            (d for d in range(4) if abs(step * 10**d - round(step * 10**d)) < 1e-6), 3
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        if self.log:  # 0.01, 0.1, 1, 10, …
            return _number(x, max(0, -math.floor(math.log10(x))) if x > 0 else 0) + self.suffix
        return _number(x, self.decimals) + self.suffix


def _unit(*, money: bool, percent: bool) -> tuple[float, str]:
    """Scale from stored values to shown ones, and the tick suffix."""
    if money and percent:
        raise ValueError("a value is money or a percentage, not both")
    return (0.01, "") if money else (100.0, "%") if percent else (1.0, "")


def _inks(rgba: np.ndarray) -> np.ndarray:
    """Per cell of colour `rgba`, a text colour that reads on it."""
    luminance = rgba[..., :3] @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(luminance < 0.5, "white", "#222222")


def _colorbar(
    fig: Figure, ax: Axes, norm: Normalize, *, label: str, suffix: str = "", below: bool = False
) -> None:
    """A slim colour bar right of `ax`, at most 3.5 inches tall and aligned with its top; or,
    `below`, under `ax` across its width (a phone has no room beside it)."""
    box = ax.get_position()
    fig_w, fig_h = fig.get_figwidth(), fig.get_figheight()
    if below:
        rect = (box.x0, box.y0 - 0.32 / fig_h, box.width, 0.14 / fig_h)
        orientation = "horizontal"
    else:
        height = min(box.height, 3.5 / fig_h)
        rect = (box.x1 + 0.25 / fig_w, box.y1 - height, 0.18 / fig_w, height)
        orientation = "vertical"
    cax = fig.add_axes(rect)
    bar = fig.colorbar(
        ScalarMappable(norm, HEATMAP), cax=cax, format=_Ticks(suffix), orientation=orientation
    )
    if below:
        bar.ax.xaxis.set_major_locator(MaxNLocator(5))
    bar.outline.set_visible(False)
    bar.set_label(label)


def _no_data(title: str, width: int) -> str:
    with _style():
        fig = _figure(1.2, title=title, width=width, left=0.3, top=0.1, bottom=0.1)
        fig.text(0.5, 0.4, _("No data yet"), ha="center", va="center", color="#777777")
        return _svg(fig, title)


def _bare(ax: Axes) -> None:
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _legend_columns(labels: Sequence[str], room: float) -> int:
    """How many legend entries fit side by side in `room` inches (at least one)."""
    entry = _width(labels) + 0.55  # the handle, the gap and the padding
    return max(1, min(len(labels), int(room // entry)))


def rfm_grid_chart(
    grid: pl.DataFrame, *, title: str, segment_labels: dict[str, str], width: int = WIDE
) -> str:
    """The 5 × 5 R × F grid: colour and number = members; segments outlined, named once. The
    narrow layout has no colour bar: every cell says its number."""
    narrow = _narrow(width)
    members = np.zeros((5, 5))
    segments = np.full((5, 5), "", dtype=object)
    for row in grid.iter_rows(named=True):
        members[row["r"] - 1, row["f"] - 1] = row["members"]
        segments[row["r"] - 1, row["f"] - 1] = row["segment"]
    norm = Normalize(0, max(float(members.max()), 1.0))
    rgba = HEATMAP(norm(members))
    inks = _inks(rgba)
    # White lines between cells, thick where the segment changes.
    lines = [((f + 1.5, r + 0.5), (f + 1.5, r + 1.5)) for r in range(5) for f in range(4)]
    widths = [
        4.0 if segments[r, f] != segments[r, f + 1] else 1.0 for r in range(5) for f in range(4)
    ]
    lines += [((f + 0.5, r + 1.5), (f + 1.5, r + 1.5)) for r in range(4) for f in range(5)]
    widths += [
        4.0 if segments[r, f] != segments[r + 1, f] else 1.0 for r in range(4) for f in range(5)
    ]
    left, right = (0.62, 0.2) if narrow else (0.75, 1.5)
    cell = (_inches(width) - left - right) / 5  # inches
    with _style():
        fig = _figure(
            5 * cell + 0.8 if narrow else 5.8,
            title=title,
            width=width,
            left=left,
            right=right,
            top=0.2,
        )
        ax = fig.subplots()
        ax.imshow(
            rgba, origin="lower", extent=(0.5, 5.5, 0.5, 5.5), aspect="auto", interpolation="none"
        )
        ax.add_collection(LineCollection(lines, colors="white", linewidths=widths))
        named: set[str] = set()
        for r in range(5, 0, -1):  # each segment is named in its top-left cell
            for f in range(1, 6):
                ink = str(inks[r - 1, f - 1])
                ax.text(
                    f,
                    r - (0.14 if narrow else 0.06),
                    _number(members[r - 1, f - 1]),
                    ha="center",
                    va="center",
                    fontsize=12 if narrow else 13,
                    color=ink,
                )
                key = str(segments[r - 1, f - 1])
                if key and key not in named:
                    named.add(key)
                    room = cell - 0.07
                    label = _wrap(segment_labels.get(key, key), room, 8)
                    # A word wider than the cell ("Потенциально" on a phone) gets smaller
                    # type, down to 7 px: smaller is not read, a pixel into the border is.
                    size = max(7.0, min(8.0, 8.0 * room / max(_width(label, 8), 1e-9)))
                    ax.text(
                        f - 0.46,
                        r + 0.44,
                        "\n".join(label),
                        ha="left",
                        va="top",
                        fontsize=round(size, 1),
                        color=ink,
                    )
        ax.set(xlim=(0.5, 5.5), ylim=(0.5, 5.5), xticks=range(1, 6), yticks=range(1, 6))
        ax.set_xlabel(_("Frequency score (F): 5 = buys most often"))
        ax.set_ylabel(_("Recency score (R): 5 = bought most recently"))
        _bare(ax)
        if not narrow:
            _colorbar(fig, ax, norm, label=_("Members"))
        return _svg(fig, title)


def cohort_heatmap(
    cohorts: pl.DataFrame,
    *,
    title: str,
    value: str = "retention",
    in_progress: date | None = None,
    width: int = WIDE,
) -> str:
    """Monthly cohorts (oldest at the top) × months since joining, coloured by `value`:
    "retention" (share of the cohort that bought) or "revenue_per_member" (kopecks).

    The cells of the month that contains `in_progress` (the diagonal of the current month) are
    lighter and outlined with a dashed line, and a note says that month is not over: otherwise
    they read as a fall in retention."""
    if value not in ("retention", "revenue_per_member"):
        raise ValueError(f"value must be retention or revenue_per_member, not {value!r}")
    if cohorts.is_empty():
        return _no_data(title, width)
    narrow = _narrow(width)
    months, first, rows = np.unique(
        cohorts["cohort"].to_numpy(), return_index=True, return_inverse=True
    )
    sizes = cohorts["cohort_size"].to_numpy()[first]
    cols = cohorts["month_index"].to_numpy()
    retention = value == "retention"
    suffix = "%" if retention else ""
    cells = np.full((len(months), int(cols.max()) + 1), np.nan)
    cells[rows, cols] = cohorts[value].cast(pl.Float64).to_numpy() * (100 if retention else 0.01)
    n_rows, n_cols = cells.shape
    # Retention in month 0 is 100 % by definition, so month 0 is left out of the colour scale
    # (drawn grey) and the scale spends its range on the months that differ. Revenue per member
    # in month 0 is real information and stays in the scale.
    scaled = cells[:, 1:] if retention else cells
    top = float(np.nanmax(scaled)) if np.isfinite(scaled).any() else 0.0
    norm = Normalize(0, max(top, 1e-9))
    rgba = HEATMAP(norm(np.nan_to_num(cells)))
    if retention:
        rgba[:, 0] = matplotlib.colors.to_rgba("#E6E6E6")
    rgba[np.isnan(cells)] = 0.0  # no data yet: transparent
    partial: list[tuple[int, int]] = []
    if in_progress is not None:
        # A month not over yet gets no colour of the scale at all: a pale cell, its number
        # and a dashed outline, so it cannot be read as a low value.
        current = _month_key(in_progress)
        for i, month in enumerate(months.astype("datetime64[D]").tolist()):
            j = current - _month_key(month)
            if 0 <= j < n_cols and np.isfinite(cells[i, j]):
                partial.append((i, j))
                rgba[i, j] = matplotlib.colors.to_rgba(IN_PROGRESS_BAND)
    inks = _inks(rgba)
    labels = [f"{str(m)[:7]} ({_number(s)})" for m, s in zip(months, sizes, strict=True)]
    note = (
        _("Dashed outline: %(month)s, month in progress") % {"month": f"{in_progress:%Y-%m}"}
        if partial and in_progress is not None
        else ""
    )
    left = _width(labels) + 0.45
    right = 0.25 if narrow else 1.3
    bottom = (0.95 if narrow else 0.15) + (0.3 if note else 0.0)
    with _style():
        row_height = 0.26
        height = max(2.4, 0.5 + bottom + row_height * n_rows)
        fig = _figure(
            height, title=title, width=width, left=left, right=right, top=0.55, bottom=bottom
        )
        ax = fig.subplots()
        ax.imshow(rgba, aspect="auto", interpolation="none")
        ax.add_collection(
            LineCollection(
                [((x, -0.5), (x, n_rows - 0.5)) for x in np.arange(0.5, n_cols - 1)]
                + [((-0.5, y), (n_cols - 0.5, y)) for y in np.arange(0.5, n_rows - 1)],
                colors="white",
                linewidths=1,
            )
        )
        for i, j in partial:
            ax.add_patch(
                Rectangle(
                    (j - 0.46, i - 0.46),
                    0.92,
                    0.92,
                    fill=False,
                    edgecolor="#333333",
                    linewidth=1.0,
                    linestyle=DASHED,
                )
            )
        cell_px = (_inches(width) - left - right) * 72 / n_cols
        if n_cols <= 24:
            texts = {
                (i, j): _number(cells[i, j]) + suffix for i, j in np.argwhere(np.isfinite(cells))
            }
            widest = max((len(text) for text in texts.values()), default=1)
            fontsize = min(9.0, cell_px / (0.66 * widest))
            # Desktop charts are shown larger than their natural size, phone charts at about
            # their natural size: smaller than 8 px there is not worth reading.
            if fontsize >= (8 if narrow else 6):
                for (i, j), text in texts.items():
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color=str(inks[i, j]),
                    )
        ticks_fit = max(1, int(cell_px * n_cols // 22))  # a tick label needs about 22 px
        ax.set_xticks(range(0, n_cols, max(1, math.ceil(n_cols / min(24, ticks_fit)))))
        ax.set_yticks(range(n_rows), labels)
        ax.xaxis.set_ticks_position("top")
        ax.xaxis.set_label_position("top")
        ax.set_xlabel(_("Months since joining"))
        ax.set_ylabel(_("Cohort (members)"))
        _bare(ax)
        label = _("Retention") if retention else _("Revenue per member, ₽")
        _colorbar(fig, ax, norm, label=label, suffix=suffix, below=narrow)
        if note:
            fig.text(
                0.12 / fig.get_figwidth(),
                0.1 / fig.get_figheight(),
                note,
                fontsize=9,
                color="#444444",
                ha="left",
                va="bottom",
            )
        return _svg(fig, title)


def kpi_trend_chart(
    monthly: pl.DataFrame,
    *,
    title: str,
    series: list[tuple[str, str]],
    money: bool,
    percent: bool = False,
    in_progress: date | None = None,
    width: int = WIDE,
) -> str:
    """Monthly lines of the `series` columns (kopecks when `money`, shares 0..1 when `percent`).

    When the last month contains `in_progress` (the day the figures run to), that month is not
    over: its point is hollow on a shaded band, the segment to it dashed, and the legend says
    "month in progress", so a half-counted month does not read as a collapse."""
    scale, suffix = _unit(money=money, percent=percent)
    if monthly.is_empty() or not series:
        return _no_data(title, width)
    w = _inches(width)
    monthly = monthly.sort("month")
    months: list[date] = monthly["month"].to_list()
    partial = in_progress is not None and _month_key(months[-1]) == _month_key(in_progress)
    x = np.arange(monthly.height)
    ys = [monthly[column].cast(pl.Float64).to_numpy() * scale for column, _label in series]
    finite = np.concatenate(ys)
    finite = finite[np.isfinite(finite)]
    top = float(np.abs(finite).max()) if finite.size else 1.0
    left = _tick_room(top, suffix) + (0.3 if money else 0.05)
    right = 0.3
    names = [label for _column, label in series] if len(series) > 1 else []
    if partial:
        names.append(_("month in progress"))
    legend_cols = _legend_columns(names, w - left - right) if names else 1
    legend_rows = math.ceil(len(names) / legend_cols)
    with _style():
        fig = _figure(
            3.4 if _narrow(width) else 3.8,
            title=title,
            width=width,
            left=left,
            right=right,
            top=0.2 + 0.25 * legend_rows,
            bottom=0.45,
        )
        ax = fig.subplots()
        handles = []
        for y, (_column, label), colour in zip(ys, series, PALETTE, strict=False):
            done = slice(None, -1) if partial else slice(None)
            (line,) = ax.plot(
                x[done], y[done], marker="o", markersize=4, linewidth=1.8, color=colour, label=label
            )
            handles.append(line)
            if partial:
                ax.plot(x[-2:], y[-2:], linewidth=1.8, linestyle=DASHED, color=colour)
                ax.plot(
                    x[-1:],
                    y[-1:],
                    marker="o",
                    markersize=5,
                    linestyle="none",
                    markerfacecolor="white",
                    markeredgecolor=colour,
                    markeredgewidth=1.5,
                )
        if partial:
            ax.axvspan(x[-1] - 0.5, x[-1] + 0.5, color=IN_PROGRESS_BAND, linewidth=0, zorder=0)
            handles.append(
                Line2D(
                    [],
                    [],
                    color=GREY,
                    linestyle=DASHED,
                    marker="o",
                    markersize=5,
                    markerfacecolor="white",
                    markeredgecolor=GREY,
                    label=_("month in progress"),
                )
            )
        if len(series) == 1:
            handles = handles[1:]  # the title names the only line
        # As many month labels as fit, counted back from the latest month, which is always shown.
        room = (w - left - right) * 72 / (_width(["2026-12"]) * 72 + 14)
        step = max(1, math.ceil(monthly.height / max(2, min(12, int(room)))))
        shown = list(range(monthly.height - 1, -1, -step))[::-1]
        ax.set_xticks(x[shown], [f"{months[i]:%Y-%m}" for i in shown])
        if partial:
            ax.get_xticklabels()[-1].set_color(GREY)
        ax.set_xlim(-0.5, monthly.height - 0.5)
        ax.yaxis.set_major_formatter(_Ticks(suffix))
        if money:
            ax.set_ylabel("₽")
        ax.grid(axis="y")
        if handles:
            ax.legend(
                handles=handles,
                loc="lower left",
                bbox_to_anchor=(0, 1.02),
                ncols=legend_cols,
                borderaxespad=0,
            )
        return _svg(fig, title)


def histogram_chart(
    values: pl.Series,
    *,
    title: str,
    label: str,
    money: bool,
    bins: int = 30,
    log_x: bool = False,
    width: int = WIDE,
) -> str:
    """Distribution of `values`. The long right tail is folded into the last bar at the 99th
    percentile (said under the title), or, with `log_x`, spread over log-spaced bins. The median
    is a dashed line, named in the legend above the plot, where no bar can hide it."""
    data = values.drop_nulls()
    array = data.cast(pl.Float64).to_numpy() * (0.01 if money else 1.0)
    array = array[np.isfinite(array)]
    note = ""
    if log_x:
        positive = array[array > 0]
        if positive.size < array.size:
            note = _("%(count)s values of zero or less are not shown.") % {
                "count": _number(array.size - positive.size)
            }
        array = positive
    if array.size == 0:
        return _no_data(title, width)
    low, high = float(array.min()), float(array.max())
    if log_x:
        counts, edges = np.histogram(
            array, bins=np.geomspace(low, max(high, low * 1.001), bins + 1)
        )
    else:
        cap = float(np.percentile(array, 99))
        if low < cap < high:
            counts, edges = np.histogram(array, bins=bins, range=(low, cap))
            counts[-1] += np.count_nonzero(array > cap)
            shown = f"{_number(cap)} ₽" if money else _number(cap)
            note = _("Values above the 99th percentile (%(value)s) are counted in the last bar.")
            note %= {"value": shown}
        else:
            counts, edges = np.histogram(array, bins=bins)
    median = float(np.median(array))
    median_text = _number(median, 0 if money or abs(median) >= 100 else 2)
    left, right = _tick_room(float(counts.max())) + 0.3, 0.3
    note_lines = _wrap(note, _inches(width) - left - right, 9) if note else []
    with _style():
        fig = _figure(
            3.4 if _narrow(width) else 3.8,
            title=title,
            width=width,
            left=left,
            right=right,
            top=0.45 + 0.17 * len(note_lines),
        )
        ax = fig.subplots()
        ax.stairs(counts, edges, fill=True, color=BLUE, alpha=0.85)
        ax.axvline(
            median,
            color=ORANGE,
            linewidth=1.5,
            linestyle="--",
            label=_("Median: %(value)s") % {"value": median_text + (" ₽" if money else "")},
        )
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())  # minor ticks cost a third of the time
        ax.xaxis.set_major_formatter(_Ticks(log=log_x))
        ax.yaxis.set_major_formatter(_Ticks())
        ax.set_xlabel(f"{label}, ₽" if money else label)
        ax.set_ylabel(_("Count"))
        if note_lines:
            ax.annotate(
                "\n".join(note_lines),
                (0, 1),
                xycoords="axes fraction",
                xytext=(0, 24),
                textcoords="offset points",
                va="bottom",
                fontsize=9,
                color="#555555",
            )
        ax.grid(axis="y")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), borderaxespad=0)
        return _svg(fig, title)


def _difference_panel(
    ax: Axes,
    difference: float,
    ci: Sequence[float],
    *,
    scale: float,
    unit: str,
    title: str,
    at: float = -0.45,
) -> None:
    """The difference as a dot (at x = `at` of -1…1) with its 95 % interval as an error bar,
    around a zero line."""
    ax.set_title(title)
    ax.set(xticks=[], xlim=(-1, 1))
    ax.spines["bottom"].set_visible(False)
    ax.yaxis.set_major_formatter(_Ticks())
    ax.grid(axis="y")
    low, high = (float(v) * scale for v in ci) if len(ci) == 2 else (math.nan, math.nan)
    mid = float(difference) * scale
    if not all(math.isfinite(v) for v in (low, mid, high)):
        ax.text(0, 0, _("Not enough data"), ha="center", va="center", color="#777777")
        ax.set(ylim=(-1, 1), yticks=[])
        ax.spines["left"].set_visible(False)
        return
    ax.axhline(0, color="#555555", linewidth=1)
    colour = BLUE if low > 0 else VERMILLION if high < 0 else GREY
    ax.errorbar(
        [at],
        [mid],
        yerr=[[mid - low], [high - mid]],
        fmt="o",
        color=colour,
        markersize=7,
        capsize=8,
        linewidth=2,
    )
    # An interval of zero width (nobody bought in either group) still gets a readable axis.
    reach = max(abs(low), abs(high)) * 1.3 or 1.0
    ax.set_ylim(-reach, reach)
    sign = "+" if mid > 0 else ""
    text = f"{sign}{_number(mid, 1)} {unit}\n[{_number(low, 1)}; {_number(high, 1)}]"
    ax.annotate(
        text,
        (at, mid),
        xytext=(12, 0),
        textcoords="offset points",
        va="center",
        fontsize=9,
        color=colour,
    )


def uplift_chart(result: dict[str, Any], *, title: str, width: int = WIDE) -> str:
    """Target vs control purchase rate (bars), and the differences in purchase rate and in
    revenue per member, each with its 95 % interval, in two more panels (their units differ).
    Side by side on a desktop; on a phone the bars on top and the differences under them."""
    narrow = _narrow(width)
    w = _inches(width)
    groups = [result["target"], result["control"]]
    rates = np.array([float(g["purchase_rate"]) for g in groups]) * 100
    top = float(np.nanmax(rates)) if np.isfinite(rates).any() else 0.0
    bounds = [*result["revenue_per_member_ci95"], 100 * 100]  # kopecks
    reach = max((abs(float(v)) / 100 for v in bounds if math.isfinite(float(v))), default=1.0)
    with _style():
        right, gap = 0.3, _tick_room(reach) + 0.3
        if narrow:
            # The rate difference's panel sits under the bars: the left margin holds both.
            rate_ci = [abs(float(v)) * 100 for v in result["purchase_rate_ci95"]]
            rate_reach = max((v for v in rate_ci if math.isfinite(v)), default=1.0)
            left = max(_tick_room(top, "%"), _tick_room(rate_reach))
            fig = _figure(
                6.2, title=title, width=width, left=left, right=right, top=0.35, bottom=0.2
            )
            panel = (w - left - right - gap) / 2
            box = fig.subplotpars
            rows_height = (box.top - box.bottom) * fig.get_figheight()
            between = 1.25  # the bars' two-line labels and the panels' titles
            grid = fig.add_gridspec(
                2, 2, wspace=gap / panel, hspace=between / ((rows_height - between) / 2)
            )
            bars_ax = fig.add_subplot(grid[0, :])
            rate_ax, revenue_ax = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        else:
            left = _tick_room(top, "%")
            fig = _figure(
                3.6, title=title, width=width, left=left, right=right, top=0.6, bottom=0.6
            )
            panel = (w - left - right - 2 * gap) / 3  # mean panel width, inches
            fig.subplots_adjust(wspace=gap / panel)
            bars_ax, rate_ax, revenue_ax = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
        names = [_("Target"), _("Control")]
        ticks = [f"{n}\n(n = {_number(g['members'])})" for n, g in zip(names, groups, strict=True)]
        bars = bars_ax.bar([0, 1], np.nan_to_num(rates), color=[BLUE, GREY], width=0.6)
        rate_texts = ["—" if math.isnan(r) else f"{_number(r, 1)}%" for r in rates]
        bars_ax.bar_label(bars, rate_texts, padding=3)
        bars_ax.set_xticks([0, 1], ticks)
        bars_ax.set_ylim(0, max(top * 1.25, 1.0))
        bars_ax.yaxis.set_major_formatter(_Ticks("%"))
        bars_ax.set_title(_("Purchase rate"))
        bars_ax.tick_params(axis="x", length=0)
        chars = int(panel * 72 / 6.8)  # title characters per line at 11 px
        at = -0.7 if narrow else -0.45
        _difference_panel(
            rate_ax,
            result["purchase_rate_difference"],
            result["purchase_rate_ci95"],
            scale=100,
            unit=_("pp"),
            title=textwrap.fill(_("Purchase rate difference, pp (95% CI)"), chars),
            at=at,
        )
        _difference_panel(
            revenue_ax,
            result["revenue_per_member_difference"],
            result["revenue_per_member_ci95"],
            scale=0.01,
            unit="₽",
            title=textwrap.fill(_("Revenue per member difference, ₽ (95% CI)"), chars),
            at=at,
        )
        return _svg(fig, title)


def predicted_vs_actual_chart(
    per_period: list[dict[str, float]], *, title: str, period_label: str, width: int = WIDE
) -> str:
    """The CLV model's holdout check: actual vs predicted repeat purchases, per period and
    cumulative; side by side on a desktop, one above the other on a phone."""
    if not per_period:
        return _no_data(title, width)
    narrow = _narrow(width)
    rows = sorted(per_period, key=lambda row: row["period"])
    x = np.array([row["period"] for row in rows], dtype=float)
    actual = np.array([row["actual"] for row in rows], dtype=float)
    predicted = np.array([row["predicted"] for row in rows], dtype=float)
    cumulative = [np.nancumsum(actual), np.nancumsum(predicted)]
    top = max(float(np.nanmax(np.abs(c))) if np.isfinite(c).any() else 1.0 for c in cumulative)
    with _style():
        fig = _figure(
            5.6 if narrow else 3.6,
            title=title,
            width=width,
            left=_tick_room(top),
            top=0.35,
            bottom=0.55,
        )
        if narrow:
            fig.subplots_adjust(hspace=0.55)
            per_ax, cumulative_ax = fig.subplots(2, 1)
        else:
            fig.subplots_adjust(wspace=0.25)
            per_ax, cumulative_ax = fig.subplots(1, 2)
        for ax, panel_title, pair in (
            (per_ax, _("Repeat purchases per period"), (actual, predicted)),
            (cumulative_ax, _("Cumulative repeat purchases"), cumulative),
        ):
            ax.plot(x, pair[0], marker="o", markersize=4, color=BLUE, label=_("Actual"))
            ax.plot(
                x,
                pair[1],
                marker="o",
                markersize=4,
                linestyle="--",
                color=ORANGE,
                label=_("Predicted"),
            )
            ax.set_title(panel_title)
            ax.set_xlabel(period_label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_formatter(_Ticks())
            ax.grid(axis="y")
        cumulative_ax.legend(loc="upper left")
        return _svg(fig, title)


def bar_chart(
    labels: list[str],
    values: list[float],
    *,
    title: str,
    label: str,
    percent: bool = False,
    money: bool = False,
    width: int = WIDE,
) -> str:
    """Horizontal bars, first label at the top (segment sizes, stores' shares, enrolments)."""
    if not labels:
        return _no_data(title, width)
    scale, suffix = _unit(money=money, percent=percent)
    shown = np.array(values, dtype=float) * scale
    longest = 24 if _narrow(width) else 40
    names = [name if len(name) <= longest else name[: longest - 1] + "…" for name in labels]
    finite = shown[np.isfinite(shown)]
    right = max(float(finite.max()) if finite.size else 0.0, 0.0)
    left = min(float(finite.min()) if finite.size else 0.0, 0.0)
    with _style():
        fig = _figure(
            0.7 + 0.3 * len(labels),
            title=title,
            width=width,
            left=_width(names) + 0.2,
            top=0.15,
            bottom=0.55,
        )
        ax = fig.subplots()
        y = np.arange(len(labels))
        bars = ax.barh(y, np.nan_to_num(shown), color=BLUE, height=0.65)
        decimals = 1 if percent else 0
        texts = ["—" if math.isnan(v) else _number(v, decimals) + suffix for v in shown]
        ax.bar_label(bars, texts, padding=3, fontsize=9)
        ax.set_yticks(y, names)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlim(left * 1.2, max(right * 1.2, 1e-9))
        ax.xaxis.set_major_formatter(_Ticks(suffix))
        ax.xaxis.set_major_locator(MaxNLocator(4 if _narrow(width) else 8))
        ax.set_xlabel(f"{label}, ₽" if money else label)
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x")
        return _svg(fig, title)
