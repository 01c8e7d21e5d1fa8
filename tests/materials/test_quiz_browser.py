"""The training quiz in a real Chromium: a cashier answers every question and sees the score;
axe-core finds nothing serious; the page fits a phone; desktop and phone screenshots."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from kopilka.core import clock
from kopilka.pos.models import Store
from kopilka.rewards.models import Reward
from kopilka.staff.models import StaffProfile
from tests.conftest import Api, accessibility_violations, program_set
from tests.materials.test_quiz import FULL, questions
from tests.members.test_admin_browser import PHONE


@pytest.mark.django_db(transaction=True)
def test_a_cashier_takes_the_quiz_in_the_browser(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    program_set(**FULL)
    Reward.objects.create(
        code="cap", name="Капучино", kind=Reward.Kind.GIFT, points_price=250, cost=3000,
        created_at=clock.now(),
    )  # fmt: skip
    olga = User.objects.create_user("olga", is_staff=True)
    olga.groups.add(Group.objects.get(name="cashier"))
    StaffProfile.objects.create(user=olga).stores.set(Store.objects.all())
    client = Client()
    client.force_login(olga)
    page = browser_page
    page.context.add_cookies(
        [
            {"name": name, "value": value, "url": live_server.url}
            for name, value in (
                (settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value),
                (settings.LANGUAGE_COOKIE_NAME, "ru"),
            )
        ]
    )
    page.goto(f"{live_server.url}/till/")
    page.get_by_role("link", name="Учебный тест по программе").click()
    page.wait_for_url("**/till/quiz/")
    assert page.locator("fieldset").count() == 10
    assert accessibility_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "till-quiz-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "till-quiz-phone.png"), full_page=True)
    for key, q in questions("ru").items():  # every right answer but the earn rate's
        choice = q.choices[(q.right_index + 1) % len(q.choices)] if key == "earn" else q.right
        page.locator("fieldset", has_text=q.text).get_by_label(choice, exact=True).check()
    page.get_by_role("button", name="Отправить ответы").click()
    page.get_by_role("status").get_by_text("Верно 9 из 10").wait_for()
    assert accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "till-quiz-done-phone.png"), full_page=True)
