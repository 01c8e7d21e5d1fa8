"""The analytics pages on a 390 px phone and on a desktop, in a real Chromium, with demo data.

Set KOPILKA_SCREENSHOTS=/some/folder to keep a full-page screenshot of every page at both widths.
"""

import io
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from kopilka.analytics.models import Snapshot
from kopilka.analytics.services import snapshot_run
from kopilka.campaigns.services import campaign_create
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.models import Member
from tests.backoffice.test_analytics_pages import log_in, staff  # noqa: F401

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)  # March is the month in progress
PAGES = {  # page → how many charts it draws
    "/backoffice/analytics/": 3,
    "/backoffice/analytics/rfm/": 2,
    "/backoffice/analytics/cohorts/": 2,
    "/backoffice/analytics/lifetime-value/": 3,
    "/backoffice/analytics/campaigns/": 1,
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Per page: how wide the document is, each table's box, and each chart as it is shown.
MEASURE = """() => {
  const tables = [...document.querySelectorAll('main table')].map(t => {
    const box = t.parentElement, edge = box.getBoundingClientRect();
    return {box: box.className, overflowX: getComputedStyle(box).overflowX, right: edge.right,
            scrolls: box.scrollWidth > box.clientWidth, tableWidth: t.scrollWidth};
  });
  const charts = [...document.querySelectorAll('.chart')].map(chart =>
    [...chart.querySelectorAll('svg')].filter(svg => svg.getBoundingClientRect().width > 0)
      .map(svg => {
        const width = svg.getBoundingClientRect().width, natural = svg.viewBox.baseVal.width;
        const texts = [...svg.querySelectorAll('text')];
        return {natural, width, title: svg.querySelector('title').textContent,
                texts: texts.map(t => t.textContent),
                smallest: Math.min(...texts.map(t =>
                  parseFloat(getComputedStyle(t).fontSize) * width / natural))};
      }));
  return {scrollWidth: document.documentElement.scrollWidth, tables, charts};
}"""


@pytest.fixture
def demo_figures(db: None) -> Snapshot:
    """Six months of the demo café (enough repeat buyers for the lifetime value models), one
    campaign with a control group, computed into a snapshot on 10 March."""
    with clock.frozen_at(NOW):
        call_command(
            "load_demo", members=150, purchases=3000, months=6, seed=3, stdout=io.StringIO()
        )
        campaign_create(
            key="february",
            name="Февральский кофе",
            control_share=Decimal("0.2"),
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 2, 28),
            member_ids=list(Member.objects.values_list("pk", flat=True)),
            actor=Actor.system("test"),
        )
        snapshot = snapshot_run(actor=Actor.system("test"))
    assert snapshot.status == Snapshot.Status.READY, snapshot.error
    assert "error" not in snapshot.summary["clv"], snapshot.summary["clv"]
    return snapshot


def screenshot(page: Any, path: str, label: str) -> None:
    folder = os.environ.get("KOPILKA_SCREENSHOTS")
    if folder:
        name = path.strip("/").replace("/", "-").replace("backoffice-analytics", "analytics")
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{label}-{name or 'home'}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_every_analytics_page_fits_a_phone(
    demo_figures: Snapshot,
    staff: Any,  # noqa: F811
    browser_page: Any,
    live_server: Any,
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "/backoffice/analytics/")
    scrolling_tables = 0
    for path, chart_count in PAGES.items():
        page.goto(f"{live_server.url}{path}")
        shown = page.evaluate(MEASURE)
        screenshot(page, path, "phone")
        # Nothing is wider than the screen: the page never scrolls sideways.
        assert shown["scrollWidth"] <= PHONE["width"], path
        # Every table sits in a box of its own that scrolls sideways, inside the screen.
        for table in shown["tables"]:
            assert table["box"] == "table-scroll" and table["overflowX"] == "auto", path
            assert table["right"] <= PHONE["width"], path
            scrolling_tables += table["scrolls"]
        # Every chart shows one drawing, the phone's, across the column, with readable text.
        assert len(shown["charts"]) == chart_count, path
        for drawings in shown["charts"]:
            assert len(drawings) == 1, path
            (chart,) = drawings
            assert chart["natural"] == 360 and chart["width"] >= 340, (path, chart["width"])
            assert chart["smallest"] >= 7, (path, chart["title"], chart["smallest"])
            assert chart["title"] and chart["title"] in " ".join(chart["texts"]), path
    # The wide tables (RFM segments with advice, stores with six columns) scroll in their box.
    assert scrolling_tables >= 2


@pytest.mark.django_db(transaction=True)
def test_a_month_in_progress_is_marked_on_the_phone_and_on_the_desktop(
    demo_figures: Snapshot,
    staff: Any,  # noqa: F811
    browser_page: Any,
    live_server: Any,
) -> None:
    page = browser_page
    log_in(page, live_server, "/backoffice/analytics/")
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        for path in ("/backoffice/analytics/", "/backoffice/analytics/cohorts/"):
            page.goto(f"{live_server.url}{path}")
            for drawings in page.evaluate(MEASURE)["charts"]:
                (chart,) = drawings
                marked = [t for t in chart["texts"] if "неполный месяц" in t]
                assert marked, (size, path, chart["title"])
                if "cohorts" in path:
                    assert marked == ["Пунктирная рамка: 2026-03, неполный месяц"]


@pytest.mark.django_db(transaction=True)
def test_every_analytics_page_on_a_desktop_draws_the_wide_charts(
    demo_figures: Snapshot,
    staff: Any,  # noqa: F811
    browser_page: Any,
    live_server: Any,
) -> None:
    page = browser_page
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "/backoffice/analytics/")
    for path, chart_count in PAGES.items():
        page.goto(f"{live_server.url}{path}")
        shown = page.evaluate(MEASURE)
        screenshot(page, path, "desktop")
        assert shown["scrollWidth"] <= DESKTOP["width"], path
        assert [len(drawings) for drawings in shown["charts"]] == [1] * chart_count, path
        for (chart,) in shown["charts"]:
            assert chart["natural"] == 720 and chart["smallest"] >= 7, (path, chart["title"])
