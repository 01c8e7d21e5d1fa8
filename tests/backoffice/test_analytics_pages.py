"""The analytics pages in a real Chromium, and their exports and JSON through the test client."""

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from kopilka.analytics.models import Snapshot
from kopilka.analytics.services import snapshot_run
from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock
from kopilka.core.audit import Actor
from tests.conftest import Api, enroll, receipt, staff_user
from tests.pos.test_returns import buy

PASSWORD = "Секрет-123-пароль"
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def figures(api: Api) -> Snapshot:
    """Two months of receipts from three members and a guest, computed into a snapshot."""
    for i in range(3):
        with clock.frozen_at(NOW - timedelta(days=28 - i)):
            member = enroll(phone=f"+7916123450{i}")
        for visit in range(i + 1):
            with clock.frozen_at(NOW - timedelta(days=26 - 7 * visit)):
                buy(api, member.pk, ("COF1", "2", "250.00"), number=f"{i}-{visit}")
    with clock.frozen_at(NOW - timedelta(days=3)):
        guest = receipt(("TEA", "1", "120.00"), receipt_number="guest")
        assert api.post("/purchases", guest, idempotency_key="guest").status_code == 201
    with clock.frozen_at(NOW):
        snapshot = snapshot_run(actor=Actor.system("test"))
    assert snapshot.status == Snapshot.Status.READY, snapshot.error
    return snapshot


@pytest.fixture
def staff(db: None) -> Any:
    return staff_user("manager", password=PASSWORD, email="")


@pytest.fixture
def logged_in(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_pages_are_for_staff_only(figures: Snapshot) -> None:
    response = Client().get("/backoffice/analytics/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Client().get("/backoffice/analytics/data/cohorts.csv").status_code == 302


@pytest.mark.django_db
def test_every_table_exports_as_csv_parquet_and_json(figures: Snapshot, logged_in: Client) -> None:
    for name in ("kpi_monthly", "stores", "staff", "customers", "rfm_segments", "cohorts"):
        csv = logged_in.get(f"/backoffice/analytics/data/{name}.csv")
        parquet = logged_in.get(f"/backoffice/analytics/data/{name}.parquet")
        data = logged_in.get(f"/backoffice/analytics/data/{name}.json").json()
        # CSV for people (Russian names, ";"; see test_exports), the others for programs
        from_csv = pl.read_csv(io.BytesIO(csv.content), separator=";", infer_schema=False)
        from_parquet = pl.read_parquet(io.BytesIO(parquet.content))
        assert from_csv.height == from_parquet.height == len(data["rows"]) > 0, name
        assert len(from_csv.columns) == len(from_parquet.columns), name
        assert from_parquet.columns == list(data["rows"][0])
    customers = logged_in.get("/backoffice/analytics/data/customers.json").json()["rows"]
    assert sorted(row["frequency"] for row in customers) == [1, 2, 3]
    missing = logged_in.get("/backoffice/analytics/data/secrets.csv")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "table_not_found"
    assert logged_in.get("/backoffice/analytics/data/cohorts.xlsx").status_code == 404


@pytest.mark.django_db
def test_kpis_json_for_a_period_and_a_clear_error_for_a_bad_one(
    figures: Snapshot, logged_in: Client
) -> None:
    ok = logged_in.get(
        "/backoffice/analytics/kpis.json", {"start": "2026-02-01", "end": "2026-03-09"}
    )
    assert ok.status_code == 200
    kpis = ok.json()["kpis"]
    assert kpis["receipts"] == 7  # 1 + 2 + 3 member receipts and the guest
    assert kpis["active_members"] == 3
    assert kpis["member_revenue"] == 6 * 50000

    page = logged_in.get(
        "/backoffice/analytics/",
        {"start": "2026-02-01", "end": "2026-03-09", "store": "", "segment": ""},
    )
    cards = {card["kpi"].key: card for card in page.context["cards"]}
    assert cards["revenue"]["value"] == 6 * 50000 + 12000
    assert cards["active_members"]["value"] == 3
    assert cards["revenue"]["previous"] == 0  # the 37 days before: nothing was sold yet
    assert cards["active_members"]["previous"] == 0

    bad = logged_in.get(
        "/backoffice/analytics/kpis.json", {"start": "2026-03-09", "end": "2026-02-01"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_scope"
    assert "end" in bad.json()["error"]["fields"]
    garbage = logged_in.get("/backoffice/analytics/kpis.json", {"start": "вчера", "end": ""})
    assert garbage.status_code == 400 and set(garbage.json()["error"]["fields"]) == {"start", "end"}


def log_in(page: Any, live_server: Any, path: str) -> None:
    """Open a staff page: the admin's login form comes first and then sends the manager on."""
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{path}")


@pytest.mark.django_db(transaction=True)
def test_a_manager_reads_the_dashboard_in_chromium(
    figures: Snapshot, staff: Any, browser_page: Any, live_server: Any
) -> None:
    page = browser_page
    log_in(page, live_server, "/backoffice/analytics/")

    assert page.locator("h1").inner_text() == "Как работает программа"
    assert page.locator(".card").count() >= 10
    assert page.locator(".chart svg:visible").count() == 3
    assert page.locator("[data-kpi=active_members] .value").inner_text() == "3"

    # A period that ends before it starts gets a message and the page still answers.
    page.fill("#id_start", "2026-03-09")
    page.fill("#id_end", "2026-02-01")
    page.click("form.scope button")
    assert "Период должен" in page.locator(".errorlist").first.inner_text()

    page.click("text=RFM-сегменты")
    assert page.locator(".chart svg:visible").count() == 2
    assert page.locator("tr[data-segment]").count() == 10
    page.click("text=Когорты")
    assert page.locator(".chart svg:visible").count() == 2
    with page.expect_download() as download:
        page.click(".downloads >> text=CSV")
    assert download.value.suggested_filename.startswith("kopilka-cohorts-")


@pytest.mark.django_db(transaction=True)
def test_a_marketer_builds_an_audience_and_launches_a_measured_campaign(
    figures: Snapshot, staff: Any, browser_page: Any, live_server: Any
) -> None:
    page = browser_page
    log_in(page, live_server, "/backoffice/analytics/lifetime-value/")
    # Three members are too few to fit the models: the page says so instead of showing noise.
    assert "моделям нужно не меньше 10" in page.locator("#model-error").inner_text()

    page.click("#segment-form button")
    assert page.locator("#audience").inner_text().startswith("Подходят 3 участника")
    page.fill("#id_name", "Весенний кофе")
    page.fill("#id_key", "spring-coffee")
    page.fill("#id_starts_on", "2026-02-10")
    page.fill("#id_ends_on", "2026-02-01")
    page.click("#campaign-form button")
    assert "заканчиваться позже" in page.locator("#campaign-form .errorlist").inner_text()
    assert not Campaign.objects.exists()

    page.fill("#id_ends_on", "2026-03-10")
    page.click("#campaign-form button")
    page.wait_for_url("**/campaigns/")
    assert "Кампания «Весенний кофе» создана." in page.locator(".messages").inner_text()
    assert page.locator(".chart svg:visible").count() == 1
    campaign = Campaign.objects.get()
    assert CampaignMember.objects.filter(campaign=campaign).count() == 3


@pytest.mark.django_db
def test_rfm_movement_between_any_two_days(figures: Snapshot, logged_in: Client) -> None:
    # All three members joined between 8 and 10 February: on 9 February one had bought.
    response = logged_in.get(
        "/backoffice/analytics/rfm/", {"since": "2026-02-12", "until": "2026-03-10"}
    )
    assert response.status_code == 200
    moves = response.context["movement"]
    assert sum(m["members"] for m in moves) <= 3 and moves
    assert all(m["from"] != m["to"] for m in moves)

    late = logged_in.get(
        "/backoffice/analytics/rfm/", {"since": "2026-03-01", "until": "2026-04-01"}
    )
    assert late.status_code == 200
    assert "until" in late.context["movement_form"].errors
    backwards = logged_in.get(
        "/backoffice/analytics/rfm/", {"since": "2026-03-05", "until": "2026-03-01"}
    )
    assert "since" in backwards.context["movement_form"].errors


ANALYTICS_PAGES = (
    "/backoffice/analytics/",
    "/backoffice/analytics/rfm/",
    "/backoffice/analytics/cohorts/",
    "/backoffice/analytics/lifetime-value/",
    "/backoffice/analytics/campaigns/",
)


@pytest.mark.django_db
def test_pages_take_their_styles_from_the_static_file_and_run_no_inline_code(
    figures: Snapshot, logged_in: Client
) -> None:
    # A Content-Security-Policy without 'unsafe-inline' leaves the pages as they are: no
    # <style> or <script> blocks and no style="" attributes in our markup (the inlined SVG
    # charts are matplotlib's and set their presentation themselves).
    assert finders.find("backoffice/backoffice.css")
    for path in ANALYTICS_PAGES:
        html = logged_in.get(path).content.decode()
        ours = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.DOTALL)
        assert '<link rel="stylesheet" href="/static/backoffice/backoffice.css">' in ours, path
        for inline in ("<style", "<script", " style=", " onclick=", " onload="):
            assert inline not in ours, (path, inline)


@pytest.mark.django_db
def test_each_chart_comes_in_a_wide_and_a_narrow_drawing(
    figures: Snapshot, logged_in: Client
) -> None:
    html = logged_in.get("/backoffice/analytics/").content.decode()
    wide = re.findall(r'<div class="chart-wide"><svg [^>]*viewBox="0 0 (\d+) ', html)
    narrow = re.findall(r'<div class="chart-narrow"><svg [^>]*viewBox="0 0 (\d+) ', html)
    assert wide == ["720"] * 3 and narrow == ["360"] * 3
    titles = re.findall(r"<title>([^<]+)</title>", html)[1:]  # after the page's own
    assert titles[0] == "Выручка: все чеки и чеки участников, ₽" and len(titles) == 6
    assert len(set(titles)) == 3  # the same three charts in each width
