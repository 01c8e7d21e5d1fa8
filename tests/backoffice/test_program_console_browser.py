"""Issue 15's proof for the marketer console, in a real Chromium on the test database: a
marketer changes the earn rate, sees the example receipts change before saving, saves, and the
next quote at the till's API follows the new version."""

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kopilka.program.models import ProgramVersion
from tests.conftest import Api, accessibility_violations, enroll, receipt, staff_user
from tests.members.test_admin_browser import PHONE, shoot

PASSWORD = "маркетолог-пароль-42"


@pytest.mark.django_db(transaction=True)
def test_a_marketer_previews_and_saves_a_new_rate(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    user = staff_user("marina", role="marketer")
    user.set_password(PASSWORD)
    user.save()
    member = enroll()
    versions = ProgramVersion.objects.count()
    page = browser_page
    page.goto(f"{live_server.url}/backoffice/program/")
    page.fill("#id_username", "marina")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url("**/backoffice/program/")
    first = page.locator(".examples > li").first
    expect(first).to_contain_text("50 баллов")
    assert accessibility_violations(page) == []
    assert shoot(page, "backoffice-program", shots) <= PHONE["width"]

    page.fill("#id_earn_percent", "7")  # no click: the preview follows the typing
    expect(first).to_contain_text("70 баллов")
    expect(first).to_contain_text("сейчас: 50 баллов")
    assert ProgramVersion.objects.count() == versions  # nothing saved by a preview
    page.fill("#id_earn_percent", "-3")
    expect(page.locator(".problems")).to_contain_text("не может быть отрицательным")
    page.fill("#id_earn_percent", "7")
    expect(first).to_contain_text("70 баллов")
    assert shoot(page, "backoffice-program-changed", shots) <= PHONE["width"]

    page.fill("#id_note", "7 % к запуску зимнего меню")
    page.get_by_role("button", name="Сохранить как новую версию").click()
    expect(page.locator(".messages")).to_contain_text("в силе")
    assert ProgramVersion.objects.count() == versions + 1
    quoted = api.post(
        "/receipts/calculate", receipt(("COF1", "1", "1000.00"), member_id=member.pk)
    ).json()
    assert quoted["totals"]["earn_points"] == 70

    page.goto(f"{live_server.url}/backoffice/campaigns/send/")  # the marketer's other page
    expect(page.locator("h1")).to_have_text("Отправить рассылку")
    assert accessibility_violations(page) == []
    assert shoot(page, "backoffice-campaign-send", shots) <= PHONE["width"]
